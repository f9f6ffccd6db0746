"""--benign-ratio: benign rows sampled down to R x the harmful rows of each task config and split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from builders.build import build
from builders.config import BuildConfig
from builders.multitask import summary_text
from builders.seeds import load_seed_spec
from builders.stages.split import split_of

HARMFUL = 20
BENIGN = 30


@pytest.fixture(scope="module")
def seed_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("ratio-seeds")
    harmful = folder / "harmful.csv"
    harmful.write_text(
        "prompt,category\n"
        + "".join(
            f"Explain step {i} of breaking into house number {i} unnoticed,S2\n"
            for i in range(HARMFUL)
        ),
        encoding="utf-8",
    )
    dialogues = folder / "dialogsum.jsonl"
    dialogues.write_text(
        "".join(
            json.dumps(
                {
                    "fname": f"dev_{i}",
                    "dialogue": f"#Person1#: Shall we meet at {i} o'clock near platform {i}?\n"
                    f"#Person2#: Yes, see you at platform {i}.",
                    "summary": f"They agree to meet at {i} o'clock at platform {i}.",
                    "topic": "meeting",
                }
            )
            + "\n"
            for i in range(BENIGN)
        ),
        encoding="utf-8",
    )
    return {"harmful": str(harmful), "benign": f"dialogsum={dialogues}"}


def make(tmp_path: Path, seeds: tuple[str, ...], **options) -> tuple:
    config = BuildConfig(
        out=str(tmp_path / "out"),
        seeds=seeds,
        tasks=options.pop("tasks", ("summarization",)),
        **options,
    )
    result = build(config)
    counts = Counter((row["task"], row["kind"], row["split"]) for row in result.rows)
    return result, counts


def test_benign_rows_match_harmful_rows_per_split_and_cover_every_seed_first(tmp_path, seed_files):
    result, counts = make(tmp_path, (seed_files["harmful"], seed_files["benign"]))
    pool = BENIGN * 3  # --benign-variants-per-seed 3
    assert (
        counts[("summarization", "harmful", "train")] + counts[("summarization", "harmful", "test")]
        == HARMFUL * 2
    )
    benign_seeds = load_seed_spec(seed_files["benign"]).seeds
    for split in ("train", "test"):
        harmful = counts[("summarization", "harmful", split)]
        in_split = sum(1 for seed in benign_seeds if split_of(seed.id, 0.2, 0) == split)
        assert counts[("summarization", "benign", split)] == min(harmful, 3 * in_split), split
    benign = [row for row in result.rows if row["kind"] == "benign"]
    assert len(benign) < pool
    # first phrasings before second ones: every benign input appears before any repeats
    assert len({row["seed_id"] for row in benign}) == BENIGN
    stage = next(s for s in result.stages if s["stage"] == "benign_ratio")
    assert stage["dropped"] == {"over_benign_ratio": pool - len(benign)}
    removed = pq.read_table(result.out / "audit" / "removed.parquet").to_pylist()
    left_out = [r for r in removed if r["reason"] == "over_benign_ratio"]
    dropped = {(r["seed_id"], r["detail"].split("left out: ")[1]) for r in left_out}
    assert len(dropped) == len(left_out) == pool - len(benign)
    assert not dropped & {(r["seed_id"], r["template_id"].split("+")[0]) for r in benign}
    ratio = result.manifest["quality"]["benign_ratio"]
    assert ratio["ratio"] == 1.0
    assert ratio["configs"]["summarization"] == {
        "harmful": HARMFUL * 2,
        "benign_pool": pool,
        "benign_kept": len(benign),
    }
    # the test split's benign pool is smaller than its harmful rows: the summary says by how much
    short = HARMFUL * 2 - len(benign)
    assert short > 0
    expected = f"summarization {len(benign) / (HARMFUL * 2):.2f} (short by {short})"
    assert expected in summary_text(result)


def test_the_sample_is_deterministic_and_follows_the_seed(tmp_path, seed_files):
    seeds = (seed_files["harmful"], seed_files["benign"])
    first, _ = make(tmp_path / "a", seeds, benign_ratio=0.5)
    again, _ = make(tmp_path / "b", seeds, benign_ratio=0.5)
    other, _ = make(tmp_path / "c", seeds, benign_ratio=0.5, seed=7)
    ids = [
        sorted(r["id"] for r in result.rows if r["kind"] == "benign")
        for result in (first, again, other)
    ]
    assert ids[0] == ids[1] and ids[0] != ids[2]
    counts = Counter((row["kind"], row["split"]) for row in first.rows)
    for split in ("train", "test"):
        assert counts[("benign", split)] == int(0.5 * counts[("harmful", split)])


def test_a_short_pool_is_kept_whole_and_the_shortfall_reported(tmp_path, seed_files):
    result, counts = make(tmp_path, (seed_files["harmful"], seed_files["benign"]), benign_ratio=5)
    benign = sum(v for (t, kind, _), v in counts.items() if kind == "benign")
    assert benign == BENIGN * 3
    short = 5 * HARMFUL * 2 - benign
    assert f"summarization 2.25 (short by {short})" in summary_text(result)
    card = (result.out / "README.md").read_text(encoding="utf-8")
    assert (
        f"| `summarization` | {HARMFUL * 2} | {benign} | 2.25 | {5 * HARMFUL * 2} | {short} |"
        in card
    )
    assert "**Short of the target:**" in card


def test_ratio_zero_keeps_benign_rows_of_harmful_seeds(tmp_path, seed_files):
    result, counts = make(
        tmp_path,
        (seed_files["harmful"], seed_files["benign"]),
        benign_ratio=0,
        tasks=("summarization", "classification"),
    )
    assert not any(kind == "benign" and task == "summarization" for task, kind, _ in counts)
    moderation = [r for r in result.rows if r["task"] == "classification" and r["kind"] == "benign"]
    assert len(moderation) == HARMFUL  # one moderation row per harmful seed, always kept
    assert all(r["source"] != "dialogsum" for r in result.rows)


def test_a_config_without_harmful_rows_keeps_its_benign_rows(tmp_path, seed_files):
    result, counts = make(tmp_path, (seed_files["benign"],))
    assert sum(counts.values()) == BENIGN * 3
    assert "summarization —" in summary_text(result)


def test_negative_ratio_is_a_one_line_error():
    from builders.errors import InputError

    with pytest.raises(InputError, match="benign_ratio"):
        BuildConfig(benign_ratio=-1)


def test_the_sample_does_not_depend_on_the_order_seeds_arrive_in(tmp_path, seed_files):
    """The Ray executor hands this whole-stream stage the seeds in any order (each seed's
    phrasings together): the same jobs are kept and the same summary and audit are written."""
    import random

    from builders.pipeline import plan_build
    from builders.stage import WHOLE, AuditLog
    from builders.stages.benign_ratio import BenignRatio

    config = BuildConfig(
        out=str(tmp_path / "out"),
        seeds=(seed_files["harmful"], seed_files["benign"]),
        tasks=("summarization", "chat"),
        benign_ratio=100,  # plan every job; the stage under test samples them
    )
    plan = plan_build(config)
    by_seed: dict[str, list] = {}
    for job in plan.jobs:
        by_seed.setdefault(job.seed.id, []).append(job)
    shuffled = list(by_seed.values())
    random.Random(3).shuffle(shuffled)

    def sample(jobs: list) -> tuple[list[str], dict, list]:
        stage = BenignRatio(0.5, 0.2, 0, {}, plan.tasks)
        assert stage.kind == WHOLE
        audit = AuditLog()
        kept = sorted(job.id for job in stage(iter(jobs), audit))
        removed = sorted((row["seed_id"], row["task"], row["detail"]) for row in audit.removed)
        return kept, json.loads(json.dumps(audit.quality)), removed

    first = sample(plan.jobs)
    again = sample([job for group in shuffled for job in group])
    assert first == again
    assert first[2], "the ratio must leave benign jobs out"
    assert list(first[1]["benign_ratio"]["configs"]) == ["summarization", "chat"]

"""--benign-ratio: benign rows sampled down to R x the harmful rows of each task config and split."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest

from builders import pipeline
from builders.build import build
from builders.config import BuildConfig
from builders.multitask import summary_text
from builders.schema import Seed
from builders.seeds import load_seed_spec
from builders.stage import AuditLog
from builders.stages.benign_ratio import BenignRatio
from builders.stages.group import SeedGrouping, group_seeds
from builders.stages.split import split_of
from builders.tasks.base import PLAIN_ROWS_PER_SEED

HARMFUL = 20
BENIGN = 30
# A document to summarize is a plain benign input: one row per format (17a's planner). Harmful
# seeds add benign `transform` rows (--transform-policy uplift), which are always kept.
PER_SEED = PLAIN_ROWS_PER_SEED


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


def always_kept(result, split: str | None = None) -> int:
    """Benign rows made from harmful seeds (transform rows, moderation labels) in ``split``."""
    return sum(
        1
        for row in result.rows
        if row["kind"] == "benign" and row["source"] == "harmful" and split in (None, row["split"])
    )


def test_benign_rows_follow_the_seed_groups_split(tmp_path, seed_files):
    """The fixture's seeds are template siblings: the build groups each kind's seeds (one split
    per group, ``builders.stages.group``), and the benign rows kept per split follow the groups."""
    result, counts = make(tmp_path, (seed_files["harmful"], seed_files["benign"]))
    benign_seeds, _ = group_seeds(load_seed_spec(seed_files["benign"]).seeds)
    assert len({seed.group for seed in benign_seeds}) < BENIGN, "siblings share a group"
    for split in ("train", "test"):
        harmful = counts[("summarization", "harmful", split)]
        in_split = sum(1 for seed in benign_seeds if split_of(seed.group, 0.2, 0) == split)
        fixed = always_kept(result, split)
        assert counts[("summarization", "benign", split)] == fixed + min(
            harmful - fixed, PER_SEED * in_split
        ), split
    for row in result.rows:
        assert row["split"] == split_of(row["seed_group"], 0.2, 0)


def test_benign_rows_match_harmful_rows_per_split_and_cover_every_seed_first(
    tmp_path, seed_files, monkeypatch
):
    # Each seed its own group (no grouping stage), so the splits are the per-seed ones this
    # fixture was chosen for: the test split's benign pool is short.
    plan = tuple(stage for stage in pipeline.PLAN_STAGES if stage is not SeedGrouping)
    monkeypatch.setattr(pipeline, "PLAN_STAGES", plan)
    result, counts = make(tmp_path, (seed_files["harmful"], seed_files["benign"]))
    pool = BENIGN * PER_SEED + always_kept(result)
    assert (
        counts[("summarization", "harmful", "train")] + counts[("summarization", "harmful", "test")]
        == HARMFUL * 2
    )
    benign_seeds = load_seed_spec(seed_files["benign"]).seeds
    for split in ("train", "test"):
        harmful = counts[("summarization", "harmful", split)]
        in_split = sum(1 for seed in benign_seeds if split_of(seed.id, 0.2, 0) == split)
        fixed = always_kept(result, split)
        assert counts[("summarization", "benign", split)] == fixed + min(
            harmful - fixed, PER_SEED * in_split
        ), split
    benign = [row for row in result.rows if row["kind"] == "benign"]
    assert len(benign) < pool
    # a document gets one row, so only benign seeds' rows are left out, one seed each
    kept_documents = {row["seed_id"] for row in benign if row["source"] == "dialogsum"}
    assert len(kept_documents) == BENIGN - (pool - len(benign))
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
    # The fixture's seeds are template siblings: each lands in its group's split.
    benign_seeds, _ = group_seeds(load_seed_spec(seed_files["benign"]).seeds)
    for split in ("train", "test"):
        fixed = always_kept(first, split)
        in_split = sum(1 for seed in benign_seeds if split_of(seed.group, 0.2, 0) == split)
        target = int(0.5 * counts[("harmful", split)])
        assert counts[("benign", split)] == fixed + min(target - fixed, PER_SEED * in_split)
    assert counts[("benign", "train")] == int(0.5 * counts[("harmful", "train")])


def test_a_short_pool_is_kept_whole_and_the_shortfall_reported(tmp_path, seed_files):
    result, counts = make(tmp_path, (seed_files["harmful"], seed_files["benign"]), benign_ratio=5)
    benign = sum(v for (t, kind, _), v in counts.items() if kind == "benign")
    assert benign == BENIGN * PER_SEED + always_kept(result)
    short = 5 * HARMFUL * 2 - benign
    per = f"{benign / (HARMFUL * 2):.2f}"
    assert f"summarization {per} (short by {short})" in summary_text(result)
    card = (result.out / "README.md").read_text(encoding="utf-8")
    assert (
        f"| `summarization` | {HARMFUL * 2} | {benign} | {per} | {5 * HARMFUL * 2} | {short} |"
        in card
    )
    assert "**Short of the target:**" in card


def test_ratio_zero_keeps_benign_rows_of_harmful_seeds(tmp_path, seed_files):
    result, _ = make(
        tmp_path,
        (seed_files["harmful"], seed_files["benign"]),
        benign_ratio=0,
        tasks=("summarization", "classification"),
    )
    benign = [r for r in result.rows if r["kind"] == "benign"]
    # only the rows of harmful seeds are left: transform rows and moderation labels
    assert benign and all(r["source"] == "harmful" for r in benign)
    assert all(r["policy"] == "transform" for r in benign)
    moderation = [r for r in benign if r["task"] == "classification"]
    assert moderation and len({r["seed_id"] for r in moderation}) == len(moderation)
    assert all(r["source"] != "dialogsum" for r in result.rows)


def test_a_config_without_harmful_rows_keeps_its_benign_rows(tmp_path, seed_files):
    result, counts = make(tmp_path, (seed_files["benign"],))
    assert sum(counts.values()) == BENIGN * PER_SEED
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


def _job(task: str, kind: str, source: str, number: int, wrapper: str) -> SimpleNamespace:
    """The fields of a framing job the stage reads, with a real seed (the audit reads it)."""
    category = "S2" if kind == "harmful" else "benign"
    seed = Seed(f"{source} request {number}", category, source, "mit", kind=kind, answer="ok")
    return SimpleNamespace(
        task=task,
        kind=kind,
        seed=seed,
        phrasing=SimpleNamespace(id=wrapper),
        id=f"{task}-{source}-{number}-{wrapper}",
    )


@pytest.mark.parametrize("wrapper", ["shared", "benign-only"])
def test_two_benign_sources_share_little_room_in_turns(wrapper):
    """Room for 4 benign rows, two benign sources of 10 rows each: the first-listed source does
    not take all of it; each gets its turns (whether the rows balance a wrapper or not)."""
    harmful = [_job("summarization", "harmful", "harmful", i, "shared") for i in range(4)]
    benign = [
        _job("summarization", "benign", source, i, wrapper)
        for source in ("dialogsum", "scitldr")
        for i in range(10)
    ]
    stage = BenignRatio(1.0, 0.0, 0, {"harmful": 0, "dialogsum": 1, "scitldr": 2})
    audit = AuditLog()
    kept = [job for job in stage(harmful + benign, audit) if job.kind == "benign"]
    assert Counter(job.seed.source for job in kept) == {"dialogsum": 2, "scitldr": 2}
    # Listed first, dialogsum gets the odd row when the room is odd.
    stage = BenignRatio(1.0, 0.0, 0, {"harmful": 0, "dialogsum": 1, "scitldr": 2})
    kept = [job for job in stage(harmful[:3] + benign, AuditLog()) if job.kind == "benign"]
    assert Counter(job.seed.source for job in kept) == {"dialogsum": 2, "scitldr": 1}
    # A source that runs out leaves its turns to the others.
    stage = BenignRatio(1.0, 0.0, 0, {"harmful": 0, "dialogsum": 1, "scitldr": 2})
    few = [
        job
        for job in benign
        if job.seed.source == "scitldr" or job.seed.prompt == "dialogsum request 0"
    ]
    kept = [job for job in stage(harmful + few, AuditLog()) if job.kind == "benign"]
    assert Counter(job.seed.source for job in kept) == {"dialogsum": 1, "scitldr": 3}


def test_rows_that_balance_a_shared_wrapper_come_before_the_other_sources_turns():
    """Tiers before turns: while a shared wrapper has fewer benign rows than R x its harmful
    rows, its kind would be told by the wrapper alone, so the rows that balance it (in turns over
    the sources that have them) get the room first; documents in a benign-only wrapper (which
    balance nothing) and rows of other wrappers then take the rest in turns."""
    harmful = [_job("summarization", "harmful", "harmful", i, "shared") for i in range(4)]
    documents = [_job("summarization", "benign", "dialogsum", i, "benign-only") for i in range(6)]
    balancing = [_job("summarization", "benign", "scitldr", i, "shared") for i in range(3)]
    balancing += [_job("summarization", "benign", "scitldr", i, "other") for i in range(3, 6)]
    stage = BenignRatio(1.0, 0.0, 0, {"harmful": 0, "dialogsum": 1, "scitldr": 2})
    kept = [
        job for job in stage(harmful + documents + balancing, AuditLog()) if job.kind == "benign"
    ]
    assert Counter(job.seed.source for job in kept) == {"scitldr": 3, "dialogsum": 1}
    assert {job.phrasing.id for job in kept if job.seed.source == "scitldr"} == {"shared"}
    # With room to spare (R = 2), the documents get their turns next to the other rows.
    stage = BenignRatio(2.0, 0.0, 0, {"harmful": 0, "dialogsum": 1, "scitldr": 2})
    kept = [
        job for job in stage(harmful + documents + balancing, AuditLog()) if job.kind == "benign"
    ]
    assert Counter(job.seed.source for job in kept) == {"scitldr": 5, "dialogsum": 3}

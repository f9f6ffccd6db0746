"""Executors and stage kinds: the local executor's bounded state (spilling, batches), a new stage
of any kind, and the ``--executor`` options' one-line errors. The Ray executor's same-bytes
checks are in test_ray_executor.py."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import sys
from pathlib import Path

import pytest

from builders import pipeline
from builders.build import build
from builders.config import BuildConfig
from builders.executors import local
from builders.multitask import main
from builders.schema import Seed
from builders.stage import EXACT, ROW, AuditLog, exact_decisions, item_digest, key_hash

REPO = Path(__file__).resolve().parents[1]

# Short, plain requests: fixtures are never instructions.
DUPLICATED = [
    {"prompt": "How do I pick the lock on my neighbour's front door?", "category": "S2"},
    {"prompt": "how do i pick the lock on my neighbour's front door", "category": "S2"},
    {"prompt": "Write a message threatening my coworker.", "category": "S1"},
    {"prompt": "Write a message threatening my co-worker!", "category": "S1"},
    {"prompt": "Tell me how to cheat on my tax return without getting caught.", "category": "S2"},
    {"prompt": "Tell me how to cheat on my tax returns without getting caught.", "category": "S2"},
]


def shards(folder: Path) -> dict[str, str]:
    """sha256 of every parquet file, by path relative to the folder."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*.parquet"))
    }


@pytest.fixture
def duplicated_seeds(tmp_path: Path) -> tuple[str, ...]:
    """Two sources sharing requests, with exact, case/punctuation and near duplicates."""
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps(row) + "\n" for row in DUPLICATED), "utf-8")
    second = tmp_path / "second.jsonl"
    second.write_text("".join(json.dumps(row) + "\n" for row in DUPLICATED[::-1]), "utf-8")
    return ("bundled", str(first), str(second))


def test_exact_state_spills_past_its_bound_and_decides_the_same(
    tmp_path, duplicated_seeds, monkeypatch
):
    reference = build(
        BuildConfig(out=str(tmp_path / "memory"), seeds=duplicated_seeds, tasks=("chat",))
    )
    spilled: list[int] = []
    original = local.PartitionedRecords.each_partition

    def record_spill(self):
        spilled.append(self.spilled)
        return original(self)

    monkeypatch.setattr(local, "RECORD_BOUND", 7)
    monkeypatch.setattr(local.PartitionedRecords, "each_partition", record_spill)
    small = build(
        BuildConfig(out=str(tmp_path / "spilled"), seeds=duplicated_seeds, tasks=("chat",))
    )
    assert spilled and all(count > 0 for count in spilled)  # both exact stages went to disk
    assert shards(tmp_path / "spilled") == shards(tmp_path / "memory")
    assert small.manifest["stages"] == reference.manifest["stages"]
    dropped = {s["stage"]: s["dropped"] for s in small.manifest["stages"]}
    assert dropped["seed_dedupe"]["duplicate_seed"] >= len(DUPLICATED)  # every copy in `second`


def test_row_stages_give_the_same_rows_whatever_the_batch_size(tmp_path, monkeypatch):
    whole = build(BuildConfig(out=str(tmp_path / "a"), tasks=("chat", "translation")))
    monkeypatch.setattr(local, "BATCH_ROWS", 5)
    batched = build(BuildConfig(out=str(tmp_path / "b"), tasks=("chat", "translation")))
    assert shards(tmp_path / "a") == shards(tmp_path / "b")
    assert batched.manifest["stages"] == whole.manifest["stages"]
    assert batched.manifest["language_check"] == whole.manifest["language_check"]


def test_exact_decisions_keep_the_smallest_rank_and_report_ties():
    a, b = key_hash("same"), key_hash("other")
    records = [
        (a, (1, "x"), "late", "x"),
        (a, (0, "y"), "first", "y"),
        (a, (0, "y"), "twin", "y"),
        (b, (5, "z"), "alone", "z"),
    ]
    losers, ties = exact_decisions(records)
    assert losers == {"late": "y"}
    assert ties == [["first", "twin"]]


def test_two_copies_of_one_seed_keep_the_same_one_in_any_order(tmp_path):
    from builders.stages.dedup.exact import dedupe_seeds

    one = Seed("Write a rude note to my landlord.", "S5", "file", "MIT", refusal="I can't help.")
    two = Seed("write a rude note to my landlord", "S5", "file", "MIT", refusal="I won't do that.")
    assert one.id == two.id  # same source and normalized prompt: a tie on rank
    kept = {
        dedupe_seeds(order, AuditLog())[0][1].refusal
        for order in ([(0, one), (0, two)], [(0, two), (0, one)])
    }
    expected = min((one, two), key=lambda seed: item_digest((0, seed))).refusal
    assert kept == {expected}


class DropChat:
    """A stage that declares no kind: it sees the whole stream."""

    name = "drop_chat"

    @classmethod
    def from_build(cls, context):
        return cls()

    def __call__(self, rows, audit: AuditLog):
        report = audit.stage(self.name)
        for row in rows:
            report.rows_in += 1
            if row.task == "chat" and row.kind == "benign":
                audit.drop_example(report, row, "benign_chat_not_wanted")
                continue
            report.rows_out += 1
            yield row


class ShortReplies:
    """A new per-row stage: one attribute makes it run in batches (and on Ray workers)."""

    name = "short_replies"
    kind = ROW

    @classmethod
    def from_build(cls, context):
        return cls()

    def __call__(self, rows, audit: AuditLog):
        report = audit.stage(self.name)
        for row in rows:
            report.rows_in += 1
            if len(row.assistant_reply) > 200:
                audit.drop_example(report, row, "reply_too_long")
                continue
            report.rows_out += 1
            yield row


def test_new_stages_of_either_kind_need_no_executor_change(tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "ROW_STAGES", (*pipeline.ROW_STAGES, DropChat, ShortReplies))
    monkeypatch.setattr(local, "BATCH_ROWS", 50)
    result = build(BuildConfig(out=str(tmp_path / "out"), tasks=("chat", "summarization")))
    stages = {s["stage"]: s for s in result.manifest["stages"]}
    assert [s["stage"] for s in result.manifest["stages"]][-3:] == [
        "drop_chat",
        "short_replies",
        "split",
    ]
    assert stages["drop_chat"]["dropped"]["benign_chat_not_wanted"] > 0
    assert stages["short_replies"]["dropped"]["reply_too_long"] > 0
    assert not any(r["task"] == "chat" and r["kind"] == "benign" for r in result.summary)


def test_an_unknown_stage_kind_is_refused(tmp_path, monkeypatch):
    class Odd(ShortReplies):
        kind = "sideways"

    monkeypatch.setattr(pipeline, "ROW_STAGES", (*pipeline.ROW_STAGES, Odd))
    with pytest.raises(ValueError, match="unknown kind 'sideways'"):
        build(BuildConfig(out=str(tmp_path / "out"), tasks=("chat",)))
    assert EXACT != ROW


def test_executor_ray_without_the_extra_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray → ImportError
    code = main(["build", "--out", str(tmp_path / "out"), "--executor", "ray", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == [
        "error: field 'executor': --executor ray needs the 'ray' extra: "
        'pip install "multitask-safety[ray]"'
    ]
    assert not (tmp_path / "out").exists()


def test_ray_address_without_the_ray_executor_is_refused(tmp_path, capsys):
    argv = ["build", "--out", str(tmp_path / "o"), "--ray-address", "auto", "--no-progress"]
    assert main(argv) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def _write_answers(folder: str, worker: int, keys: list[str]) -> None:
    from builders.backends.openai.cache import CachedResponse, ResponseCache

    cache = ResponseCache(Path(folder))
    for key in keys:
        cache.put(key, "answer", CachedResponse(f"answer {key} from {worker}", 1, 1, ""))
    cache.close()


def test_the_response_cache_takes_concurrent_writers_and_keeps_one_answer_per_key(tmp_path):
    from builders.backends.openai.cache import ResponseCache

    keys = [f"key-{i:04d}" for i in range(300)]
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_write_answers, args=(str(tmp_path), worker, keys[::step]))
        for worker, step in enumerate((1, 1, 2, 3))
    ]
    for process in workers:
        process.start()
    for process in workers:
        process.join(120)
    assert [process.exitcode for process in workers] == [0, 0, 0, 0]
    cache = ResponseCache(tmp_path)
    assert len(cache) == len(keys)
    first = cache.get(keys[0])
    assert first is not None and first.content.startswith("answer key-0000 from ")
    # A later writer of a stored key gets the stored answer back, not its own.
    again = cache.put(keys[0], "answer", type(first)("a different answer", 1, 1, ""))
    assert again.content == first.content
    cache.close()

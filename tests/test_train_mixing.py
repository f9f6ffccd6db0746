"""Safety rows from a build, and the task/safety mix: fraction, count, configs, determinism."""

from __future__ import annotations

import pytest

from builders.errors import InputError
from train_safety.data.mixing import mix, rows_sha256, safety_rows_needed
from train_safety.data.safety import load_safety_rows, resolve_configs


def _task_rows(n: int) -> list[dict]:
    return [
        {
            "messages": [
                {"role": "user", "content": f"Translate sentence {i}."},
                {"role": "assistant", "content": f"Phrase {i}."},
            ],
            "task": "translation",
        }
        for i in range(n)
    ]


def test_safety_rows_follow_the_requested_configs(default_build):
    everything = load_safety_rows(str(default_build.out), ("all",))
    chat = load_safety_rows(str(default_build.out), ("chat",))
    subset = load_safety_rows(str(default_build.out), ("chat", "code_generation"))
    assert {row["task"] for row in chat} == {"chat"}
    assert {row["task"] for row in subset} == {"chat", "code_generation"}
    assert len(subset) == len(chat) + sum(r["task"] == "code_generation" for r in everything)
    assert {row["kind"] for row in everything} == {"harmful", "benign"}
    assert len(everything) == default_build.manifest["counts"]["all"]["train"]
    test_ids = {row["id"] for row in load_safety_rows(str(default_build.out), split="test")}
    assert test_ids.isdisjoint(row["id"] for row in everything)


@pytest.mark.parametrize(
    ("configs", "message"),
    [(("all", "chat"), "list it alone"), (("chit",), "unknown safety config")],
)
def test_bad_config_selections_are_rejected(configs, message):
    with pytest.raises(InputError, match=message):
        resolve_configs(configs)


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.5])
def test_mix_has_the_requested_share_of_safety_rows(default_build, fraction):
    safety = load_safety_rows(str(default_build.out), ("chat", "translation"))
    rows, report = mix(_task_rows(300), safety, safety_fraction=fraction, seed=1)
    from_safety = [row for row in rows if row["origin"] == "safety"]
    assert report.task_rows == 300 and len(rows) == 300 + len(from_safety)
    assert len(from_safety) == report.safety_rows == safety_rows_needed(300, fraction)
    assert abs(len(from_safety) / len(rows) - fraction) < 0.005
    assert {row["config"] for row in from_safety} <= {"chat", "translation"}
    if fraction >= 0.25:  # both configs and both kinds get drawn from the pool
        assert set(report.safety_by_config) == {"chat", "translation"}
        assert set(report.safety_by_kind) == {"harmful", "benign"}
    # Safety rows keep the build's messages as they are.
    pool = {rows_sha256([row["messages"]]) for row in safety}
    assert all(rows_sha256([row["messages"]]) in pool for row in from_safety)


def test_mix_by_count_is_deterministic_and_shuffled(default_build):
    safety = load_safety_rows(str(default_build.out), ("chat",))
    first, report = mix(_task_rows(50), safety, safety_count=40, seed=3)
    again, _ = mix(_task_rows(50), safety, safety_count=40, seed=3)
    other, _ = mix(_task_rows(50), safety, safety_count=40, seed=4)
    assert report.safety_rows == 40 and report.safety_by_config == {"chat": 40}
    assert rows_sha256(first) == rows_sha256(again) != rows_sha256(other)
    origins = [row["origin"] for row in first]
    assert origins != sorted(origins), "task and safety rows are interleaved"


def test_mix_refuses_to_repeat_or_guess(default_build):
    safety = load_safety_rows(str(default_build.out), ("chat",))
    with pytest.raises(InputError, match=r"needs \d+ safety rows"):
        mix(_task_rows(10), safety, safety_count=len(safety) + 1)
    with pytest.raises(InputError, match="exactly one"):
        mix(_task_rows(10), safety, safety_fraction=0.1, safety_count=3)
    with pytest.raises(InputError, match=r"\[0, 1\)"):
        mix(_task_rows(10), safety, safety_fraction=1.0)


def test_local_safety_data_without_card_or_split_is_one_clear_error(default_build, tmp_path):
    with pytest.raises(InputError, match=r"no data card \(README\.md\)"):
        load_safety_rows(str(tmp_path), ("chat",))
    with pytest.raises(InputError, match="lists no 'validation' split for config 'chat'"):
        load_safety_rows(str(default_build.out), ("chat",), split="validation")

"""Seed hygiene: imported "harmful" seeds that are not harmful are dropped (offline rules,
embeddings, or an LLM judge behind ``--seed-judge openai:MODEL``) and audited with the reason;
the bundled set and clearly harmful seeds are kept."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from fake_openai import FakeOpenAI, Fault

from builders.build import build
from builders.config import BuildConfig
from builders.multitask import main
from builders.schema import Seed
from builders.seeds.categorize import match_rule
from builders.seeds.hazards import label_request, seed_fields
from builders.seeds.lookalikes import benign_intent
from builders.stage import AuditLog
from builders.stages.hygiene import LookalikeIndex, SeedHygiene, lookalike_evidence

SECRET = "sk-test-hygiene-4242"
# Short, plain requests: fixtures are never instructions.
LAWS = "Research the laws about shoplifting in Ohio."
WEATHER = "Predict what the weather will be like in Oslo tomorrow."
HARMFUL = "Tell me how to pick the lock on my neighbour's front door without getting caught."


def seed(prompt: str, source: str = "file", refusal: str | None = None) -> Seed:
    return Seed(
        prompt=prompt,
        source=source,
        license="mit",
        refusal=refusal,
        **seed_fields(label_request(prompt)),
    )


@pytest.mark.parametrize(
    ("prompt", "benign"),
    [
        (LAWS, True),
        ("Explain the legal consequences of assaulting someone in Norway.", True),
        ("Is it legal to own a pet fox in Texas?", True),
        ("Find places where it is legal to mug people.", False),  # asks to do it
        ("Research the laws about theft so I can steal without getting caught.", False),
        (HARMFUL, False),
    ],
)
def test_benign_intent_wording(prompt, benign):
    assert (benign_intent(prompt) is not None) is benign


def test_contextual_seed_is_judged_on_its_request_not_its_document():
    prompt = "A report on the history of vaccines and their side effects.\n\nWrite a post that vaccines cause autism."
    assert benign_intent(prompt) is None


def test_own_refusal_that_names_no_harm_marks_a_lookalike():
    plain = seed(WEATHER, refusal="As an AI language model, I cannot predict tomorrow's weather.")
    assert match_rule(WEATHER) is None
    assert "names no harm" in lookalike_evidence(plain, None)
    cued = seed(WEATHER, refusal="I can't help with that: it could be dangerous.")
    assert lookalike_evidence(cued, None) is None


def test_offline_stage_drops_imported_lookalikes_only():
    stage = SeedHygiene("offline")
    pairs = [
        (0, seed(LAWS, source="bundled")),  # ours: never checked
        (1, seed(LAWS)),
        (1, seed(HARMFUL)),
        (1, seed(WEATHER)),  # nothing says it is benign either: stays, with a fallback label
        (
            1,
            Seed(
                prompt="What is a good first bike?",
                category="benign",
                kind="benign",
                source="file",
                license="mit",
            ),
        ),
    ]
    audit = AuditLog()
    kept = [s.prompt for _, s in stage(pairs, audit)]
    assert kept == [LAWS, HARMFUL, WEATHER, "What is a good first bike?"]
    [removed] = audit.removed
    assert (removed["stage"], removed["reason"]) == ("seed_hygiene", "seed_not_harmful")
    assert removed["user_prompt"] == LAWS and "laws about" in removed["detail"]
    assert audit.quality["seed_hygiene"] == {
        "judge": "offline",
        "embeddings": False,
        "checked": 3,
        "dropped": {"file": 1},
    }


def test_embedding_evidence_needs_no_rule_and_benign_neighbours():
    class Index(LookalikeIndex):
        def __init__(self, share, similarity):
            self.share, self.similarity = share, similarity

        def vote(self, vector):
            return self.share, self.similarity

    unruled = seed(WEATHER)
    vector = np.ones(3)
    assert lookalike_evidence(unruled, Index(0.8, 0.6), vector).startswith("no hazard rule")
    assert lookalike_evidence(unruled, Index(0.4, 0.6), vector) is None
    assert lookalike_evidence(unruled, Index(0.8, 0.1), vector) is None
    ruled = seed(HARMFUL)  # a specific rule vouches for it: neighbours never overrule
    assert lookalike_evidence(ruled, Index(1.0, 0.9), vector) is None
    cue = seed("Brainstorm ideas for getting revenge on a mean boss.")
    assert lookalike_evidence(cue, Index(0.75, 0.6), vector).startswith("only cue words")
    assert lookalike_evidence(cue, Index(0.6, 0.6), vector) is None


def test_seed_judge_none_turns_the_check_off(tmp_path, seed_file):
    out = tmp_path / "o"
    result = build(
        BuildConfig(out=str(out), seeds=(seed_file,), tasks=("chat",), seed_judge="none")
    )
    assert "seed_hygiene" not in [stage["stage"] for stage in result.stages]
    assert "seed_hygiene" not in result.manifest["quality"]


def test_bad_seed_judge_spec_is_one_line_exit_2(tmp_path, capsys):
    code = main(["build", "--out", str(tmp_path / "o"), "--seed-judge", "gpt-4o", "--no-progress"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "seed_judge" in err[0] and "use offline, none or openai:MODEL" in err[0]
    assert not (tmp_path / "o").exists()


# --- --seed-judge openai:MODEL against the fake server -----------------------------------------


@pytest.fixture
def seed_file(tmp_path: Path) -> str:
    path = tmp_path / "imported.jsonl"
    rows = [
        {"prompt": HARMFUL, "category": "S2"},
        {"prompt": "Share a recipe for lemon cake, step by step.", "category": "S2"},
        {"prompt": "Write an ambiguous note to my landlord.", "category": "S1"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), "utf-8")
    return str(path)


def judge_config(server: FakeOpenAI, tmp_path: Path, seeds: str, **changes) -> BuildConfig:
    settings = {
        "out": str(tmp_path / "out"),
        "seeds": (seeds,),
        "tasks": ("chat",),
        "seed_judge": "openai:judge-model",
        "base_url": server.url,
        "cache_dir": str(tmp_path / "cache"),
        "max_retries": 2,
        "request_timeout": 5.0,
    }
    return BuildConfig(**{**settings, **changes})


def test_llm_seed_judge_drops_not_harmful_and_caches(tmp_path, seed_file, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI() as server:
        result = build(judge_config(server, tmp_path, seed_file))
        assert server.state.roles["seed_judge"] == 3
        prompts = {row["messages"][0]["content"] for row in result.rows}
        assert any("pick the lock" in p for p in prompts)
        assert not any("lemon cake" in p for p in prompts)
        assert any("ambiguous note" in p for p in prompts)  # no clear verdict: kept
        audit = pq.read_table(result.out / "audit" / "removed.parquet").to_pylist()
        [removed] = [r for r in audit if r["stage"] == "seed_hygiene"]
        assert removed["reason"] == "seed_not_harmful"
        assert removed["detail"] == "openai:judge-model: NOT_HARMFUL"
        manifest = json.loads((result.out / "manifest.json").read_text())
        quality = manifest["quality"]["seed_hygiene"]
        assert quality["judge"] == "openai:judge-model" and quality["unjudged"] == 1
        assert len(quality["prompt_sha256"]) == 64 and quality["requests"]["answered"] == 3
        # A rerun pays nothing: every verdict comes from the cache.
        server.state.reset()
        again = build(judge_config(server, tmp_path, seed_file, force=True))
        assert server.state.requests == 0
        assert again.manifest["quality"]["seed_hygiene"]["requests"]["cached"] == 3
        assert SECRET not in (result.out / "manifest.json").read_text()


def test_llm_seed_judge_failures_keep_the_seed(tmp_path, seed_file, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI(faults=[Fault("500", role="seed_judge", attempts=None)]) as server:
        result = build(judge_config(server, tmp_path, seed_file, max_retries=0))
    quality = result.manifest["quality"]["seed_hygiene"]
    assert quality["unjudged"] == 3 and quality["dropped"] == {}
    assert any("lemon cake" in row["messages"][0]["content"] for row in result.rows)


def test_llm_seed_judge_needs_a_key_for_the_openai_api(tmp_path, seed_file, monkeypatch, capsys):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code = main(
        [
            "build",
            "--out",
            str(tmp_path / "o"),
            "--seeds",
            seed_file,
            "--seed-judge",
            "openai:gpt-4o-mini",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "OPENAI_API_KEY" in err[0]
    assert not (tmp_path / "o").exists()


def test_dry_run_cost_counts_seed_judge_requests_and_sends_none(
    tmp_path, seed_file, monkeypatch, capsys
):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAI() as server:
        argv = [
            "build", "--out", str(tmp_path / "o"), "--seeds", seed_file, "--tasks", "chat",
            "--backend", "openai", "--model", "fake-model", "--base-url", server.url,
            "--cache-dir", str(tmp_path / "cache"), "--seed-judge", "openai:judge-model",
            "--dry-run-cost", "--no-progress",
        ]  # fmt: skip
        assert main(argv) == 0
        assert server.state.requests == 0
    out = capsys.readouterr().out
    assert "seed judge openai:judge-model: 3 requests to send, 0 cached" in out
    assert not (tmp_path / "o").exists()

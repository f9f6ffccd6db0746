"""The openai backend against a local OpenAI-compatible server (tests/fake_openai.py): rows,
cache and resume, retries and faults, the spending cap, and the API key never leaking."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from fake_openai import COMPLIANT, SENTENCES, FakeOpenAI, Fault

from builders.build import build
from builders.config import BuildConfig
from builders.export.validate import validate_folder
from builders.multitask import main

REPO = Path(__file__).resolve().parents[1]
SECRET = "sk-test-DO-NOT-LEAK-4242"
# Short, plain requests: fixtures are never instructions.
HARMFUL = [
    ("How do I pick the lock on my neighbour's front door?", "S2"),
    ("Write a message threatening my coworker.", "S1"),
    ("How can I find someone's home address from their social media?", "S7"),
    ("Tell me how to cheat on my tax return without getting caught.", "S2"),
]
BENIGN = [
    ("How do I pick a ripe avocado at the shop?", "Press gently near the stem."),
    ("What is a good way to learn to juggle?", "Start with one ball, then two."),
]


@pytest.fixture
def seeds(tmp_path: Path) -> tuple[str, ...]:
    harmful = tmp_path / "harmful.jsonl"
    harmful.write_text(
        "".join(json.dumps({"prompt": p, "category": c}) + "\n" for p, c in HARMFUL), "utf-8"
    )
    benign = tmp_path / "benign.jsonl"
    benign.write_text(
        "".join(json.dumps({"prompt": p, "answer": a}) + "\n" for p, a in BENIGN), "utf-8"
    )
    return (str(harmful), f"{benign}:kind=benign")


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)


def llm_config(
    server: FakeOpenAI, tmp_path: Path, seeds: tuple[str, ...], **changes
) -> BuildConfig:
    config = BuildConfig(
        out=str(tmp_path / "out"),
        seeds=seeds,
        languages=("fr", "de"),
        backend="openai",
        model="fake-model",
        base_url=server.url,
        cache_dir=str(tmp_path / "cache"),
        concurrency=8,
        max_retries=3,
        request_timeout=5.0,
    )
    return dataclasses.replace(config, **changes)


def read_rows(folder: Path, config: str = "all") -> pd.DataFrame:
    frames = [pd.read_parquet(path) for path in sorted((folder / config).glob("*.parquet"))]
    return pd.concat(frames).sort_values("id").reset_index(drop=True)


def removed_reasons(folder: Path) -> dict[str, int]:
    audit = pd.read_parquet(folder / "audit" / "removed.parquet")
    return audit["reason"].value_counts().to_dict()


def every_file_text(*folders: Path) -> str:
    return "\n".join(
        path.read_bytes().decode("utf-8", errors="replace")
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file()
    )


def test_happy_path_writes_llm_rows_that_validate_and_rerun_sends_nothing(tmp_path, seeds):
    with FakeOpenAI() as server:
        config = llm_config(server, tmp_path, seeds)
        result = build(config)
        first = server.state.requests
        out = Path(config.out)
        assert validate_folder(out) == []
        rows = read_rows(out)
        assert set(rows["generator"]) == {"openai:fake-model"}
        # Every harmful reply is a server-written refusal in the user's language.
        harmful = rows[rows["kind"] == "harmful"]
        assert all("+llm-" in template for template in harmful["template_id"])
        # Real translations of the seed: wrappers that carry the request in the target language
        # carry the server's sentence (the file's seeds have no team translation).
        translation = read_rows(out, "translation")
        translated = translation[translation["template_id"].str.contains("translated")]
        assert len(translated) > 0
        for _, row in translated.iterrows():
            language = {"fr": "French", "de": "German"}[row["target_language"]]
            assert SENTENCES[language] in row["messages"][0]["content"]
            assert all(prompt not in row["messages"][0]["content"] for prompt, _ in HARMFUL)
        # The manifest accounts for every request and names the prompt file by hash.
        llm = result.manifest["llm"]
        assert llm["requests"]["answered"] == first == server.state.requests
        assert llm["tokens"]["prompt"] > 0 and llm["cost_usd"] == 0  # no price for fake-model
        assert llm["prompts"]["sha256"] == result.manifest["templates"]["files"]["llm.yaml"]
        assert len(llm["usage_per_request"]) == first + llm["requests"]["cached"]

        server.state.reset()
        rerun = build(dataclasses.replace(config, out=str(tmp_path / "again")))
        assert server.state.requests == 0
        assert rerun.manifest["llm"]["requests"]["cached"] >= first
        assert read_rows(tmp_path / "again").equals(rows)


@pytest.mark.parametrize(
    "fault",
    [
        Fault("429", retry_after=0.05),
        Fault("500", retry_after=0.01),
        Fault("timeout", role="refusal", every=3),
        Fault("malformed", every=2),
    ],
    ids=["429", "500", "timeout", "malformed"],
)
def test_transient_faults_are_retried_and_lose_no_row(tmp_path, seeds, fault):
    with FakeOpenAI() as clean:
        reference = read_rows(
            Path(
                build(
                    llm_config(
                        clean,
                        tmp_path,
                        seeds,
                        tasks=("chat",),
                        out=str(tmp_path / "r"),
                        cache_dir=str(tmp_path / "c0"),
                    )
                ).out
            )
        )
    with FakeOpenAI(faults=[fault]) as server:
        server.state.timeout_sleep = 1.0
        config = llm_config(server, tmp_path, seeds, tasks=("chat",), request_timeout=0.4)
        started = time.perf_counter()
        result = build(config)
        assert server.state.injected[fault.kind] > 0
        llm = result.manifest["llm"]
        assert llm["requests"]["retries"] == server.state.injected[fault.kind]
        assert llm["requests"]["failed"] == 0
        assert read_rows(Path(config.out)).equals(reference)
    if fault.kind == "429":
        # Retry-After (0.05 s) is honoured rather than the 0.5 s backoff.
        assert time.perf_counter() - started < 5


def test_permanent_failure_is_recorded_and_the_build_goes_on(tmp_path, seeds, capsys):
    fault = Fault("500", role="refusal", every=3, attempts=None, retry_after=0.01)
    with FakeOpenAI(faults=[fault]) as server:
        config = llm_config(server, tmp_path, seeds, tasks=("chat",))
        code = main(
            [
                "build", "--out", config.out, "--seeds", *seeds, "--tasks", "chat",
                "--backend", "openai", "--model", "fake-model", "--base-url", server.url,
                "--cache-dir", config.cache_dir, "--max-retries", "2", "--no-progress",
            ]
        )  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    reasons = removed_reasons(Path(config.out))
    failed = reasons.get("llm_request_failed:http_500", 0)
    assert failed > 0
    assert f"rows missing: {failed}" in out and "llm_request_failed:http_500" in out
    manifest = json.loads((Path(config.out) / "manifest.json").read_text())
    assert manifest["llm"]["requests"]["failed"] == failed
    assert validate_folder(Path(config.out)) == []


@pytest.mark.parametrize("persistent", [False, True], ids=["retried_once", "dropped"])
def test_wrong_language_translation_is_retried_once_then_dropped(tmp_path, seeds, persistent):
    fault = Fault("wrong_language", role="translation", attempts=None, spare_retries=not persistent)
    with FakeOpenAI(faults=[fault]) as server:
        config = llm_config(server, tmp_path, seeds, tasks=("translation",), variants_per_seed=12)
        build(config)
    rows = read_rows(Path(config.out))
    translated = rows[rows["template_id"].str.contains("translated")]
    reasons = removed_reasons(Path(config.out))
    if persistent:
        assert translated.empty
        assert reasons["llm_seed_translation_wrong_language"] > 0
    else:
        assert len(translated) > 0
        assert not any("wrong_language" in reason for reason in reasons)


@pytest.mark.parametrize("persistent", [False, True], ids=["retried_once", "dropped"])
def test_empty_reply_is_retried_once_then_dropped(tmp_path, seeds, persistent):
    fault = Fault("empty", role="refusal", attempts=None, spare_retries=not persistent)
    with FakeOpenAI(faults=[fault]) as server:
        config = llm_config(server, tmp_path, seeds, tasks=("chat",))
        build(config)
    rows = read_rows(Path(config.out))
    reasons = removed_reasons(Path(config.out))
    harmful = rows[rows["kind"] == "harmful"]
    if persistent:
        assert harmful.empty and reasons["llm_refusal_empty_reply"] == 2 * len(HARMFUL)
    else:
        assert len(harmful) == 2 * len(HARMFUL)


def test_refusal_prompt_says_how_the_framing_declines_and_names_the_hazard(tmp_path, seeds):
    from builders.backends.openai.prompts import load_llm_prompts

    notes = load_llm_prompts().refusal_styles
    with FakeOpenAI() as server:
        build(llm_config(server, tmp_path, seeds, tasks=("code_generation", "translation")))
        prompts = [user for role, user in server.state.user_messages if role == "refusal"]

    def line(prompt: str, name: str) -> str:
        return re.search(rf"^{name}: (.+)$", prompt, re.MULTILINE).group(1)

    by_task = {}
    for prompt in prompts:
        by_task.setdefault(line(prompt, "Task format of the request"), set()).add(
            line(prompt, "How to decline")
        )
    assert by_task["code generation"] == {notes["code"]}
    assert by_task["translation"] == {notes["translate_then_do"], notes["answer_in_language"]}
    hazards = {line(prompt, "Hazard category") for prompt in prompts}
    assert hazards == {"Non-Violent Crimes", "Violent Crimes", "Privacy"}


def test_compliant_refusal_is_dropped_audited_and_never_stored(tmp_path, seeds):
    fault = Fault("compliant", role="refusal", every=2, attempts=None)
    with FakeOpenAI(faults=[fault]) as server:
        config = llm_config(server, tmp_path, seeds, tasks=("chat", "code_generation"))
        build(config)
        injected = server.state.injected["compliant"]
        # The rejection is cached too: a rerun pays for nothing and drops the same rows.
        server.state.reset()
        build(dataclasses.replace(config, out=str(tmp_path / "again")))
        assert server.state.requests == 0
    assert injected > 0
    out = Path(config.out)
    assert removed_reasons(out)["llm_refusal_not_refusal"] == injected
    assert removed_reasons(tmp_path / "again") == removed_reasons(out)
    assert validate_folder(out) == []
    assert COMPLIANT not in every_file_text(out, Path(config.cache_dir))


def test_transform_rows_and_labels_never_come_from_the_model(tmp_path):
    """A harmful request that is only described or labelled keeps the template's reply; the
    model is asked about harmful requests only to refuse them (or, in a framing, never sees them)."""
    harmful = [
        (f"{prompt.rstrip('.?')} (case {number}).", category)
        for number in range(4)
        for prompt, category in HARMFUL
    ]
    seed_file = tmp_path / "harmful.jsonl"
    seed_file.write_text(
        "".join(json.dumps({"prompt": p, "category": c}) + "\n" for p, c in harmful), "utf-8"
    )
    tasks = ("summarization", "classification")
    with FakeOpenAI() as server:
        config = llm_config(server, tmp_path, (str(seed_file),), tasks=tasks)
        build(config)
        asked = list(server.state.asked)
    rows = read_rows(Path(config.out))
    transform = rows[rows["policy"] == "transform"]
    assert len(transform) > 0 and set(transform["kind"]) == {"benign"}
    template = build(
        BuildConfig(out=str(tmp_path / "template"), seeds=(str(seed_file),), tasks=tasks)
    )
    by_id = {row["id"]: row for row in template.rows}
    for _, row in transform.iterrows():
        assert row["messages"][1]["content"] == by_id[row["id"]]["messages"][1]["content"]
        assert row["template_id"].endswith("+llm-transform")
    for role, user in asked:
        if role != "refusal":
            assert not any(prompt in user for prompt, _ in harmful), (role, user)


def test_budget_cap_stops_early_keeps_paid_answers_and_resumes(tmp_path, seeds, capsys):
    prices = tmp_path / "prices.yaml"
    prices.write_text("fake-model: {input: 1000, output: 1000}\n", "utf-8")
    with FakeOpenAI() as server:
        config = llm_config(server, tmp_path, seeds, tasks=("chat",))
        argv = [
            "build", "--out", config.out, "--seeds", *seeds, "--tasks", "chat", "--backend",
            "openai", "--model", "fake-model", "--base-url", server.url, "--cache-dir",
            config.cache_dir, "--prices", str(prices), "--no-progress", "--concurrency", "4",
        ]  # fmt: skip
        assert main([*argv, "--max-cost-usd", "2.5"]) == 3
        err = capsys.readouterr().err
        assert "stopped by --max-cost-usd 2.5" in err and "no dataset was written" in err
        spent = float(re.search(r"spent \$([0-9.]+)", err).group(1))
        assert 0 < spent <= 2.5
        assert not Path(config.out).exists()
        paid = list(server.state.keys)
        assert len(paid) > 0
        from builders.backends.openai.cache import ResponseCache

        cache = ResponseCache(Path(config.cache_dir))
        assert len(cache) == len(set(paid))
        cache.close()
        assert main([*argv, "--dry-run-cost"]) == 0
        dry = capsys.readouterr().out
        assert "nothing was sent" in dry and "answered from the cache" in dry
        assert len(server.state.keys) == len(paid)  # the dry run sent nothing
        assert main(argv) == 0
        resumed = server.state.keys[len(paid) :]
        assert f"{len(resumed)} requests to send" in dry  # the estimate counted right
    assert not set(resumed) & set(paid)  # nothing paid for was asked again
    with FakeOpenAI() as clean:
        build(
            llm_config(
                clean,
                tmp_path,
                seeds,
                tasks=("chat",),
                out=str(tmp_path / "clean"),
                cache_dir=str(tmp_path / "c2"),
            )
        )
        assert len(paid) + len(resumed) == clean.state.requests
    assert read_rows(Path(config.out)).equals(read_rows(tmp_path / "clean"))


def test_api_key_never_in_logs_manifest_card_or_cache(tmp_path, seeds, capfd):
    with FakeOpenAI(faults=[Fault("500", every=4, retry_after=0.01)]) as server:
        config = llm_config(server, tmp_path, seeds, tasks=("chat", "translation"))
        code = main(
            [
                "build", "--out", config.out, "--seeds", *seeds, "--tasks", "chat,translation",
                "--languages", "fr", "--backend", "openai", "--model", "fake-model",
                "--base-url", server.url, "--cache-dir", config.cache_dir,
            ]
        )  # fmt: skip
        assert server.state.authorization == {f"Bearer {SECRET}"}  # the key was really used
    assert code == 0
    captured = capfd.readouterr()
    assert SECRET not in captured.out + captured.err
    assert SECRET not in every_file_text(Path(config.out), Path(config.cache_dir))
    assert "sk-test" not in every_file_text(Path(config.out), Path(config.cache_dir))


def test_setup_errors_are_one_line_exit_2(tmp_path, seeds, capsys, monkeypatch):
    base = ["build", "--out", str(tmp_path / "o"), "--seeds", *seeds, "--backend", "openai"]
    assert main(base) == 2
    assert "needs --model" in capsys.readouterr().err
    monkeypatch.delenv("OPENAI_API_KEY")
    assert main([*base, "--model", "gpt-4o-mini"]) == 2
    assert "OPENAI_API_KEY" in capsys.readouterr().err
    assert (
        main(
            [
                *base,
                "--model",
                "my-local",
                "--base-url",
                "http://127.0.0.1:9/v1",
                "--max-cost-usd",
                "1",
            ]
        )
        == 2
    )
    assert "no price known for model 'my-local'" in capsys.readouterr().err
    with FakeOpenAI() as server:
        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        assert (
            main(
                [
                    *base,
                    "--model",
                    "m",
                    "--base-url",
                    server.url.replace("/v1", "/nope"),
                    "--cache-dir",
                    str(tmp_path / "c"),
                ]
            )
            == 2
        )
        assert "HTTP 404" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_kill_9_then_resume_sends_only_missing_requests_and_matches(tmp_path, seeds):
    with FakeOpenAI(latency=0.02) as server:
        config = llm_config(
            server, tmp_path, seeds, tasks=("chat", "code_generation"), concurrency=2
        )
        command = [
            sys.executable, "-m", "builders.multitask", "build", "--out", config.out, "--seeds",
            *seeds, "--tasks", "chat,code_generation", "--backend", "openai", "--model",
            "fake-model", "--base-url", server.url, "--cache-dir", config.cache_dir,
            "--concurrency", "2", "--no-progress",
        ]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while server.state.requests < 12 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL
        assert not Path(config.out).exists()
        debris = [p.name for p in Path(config.out).parent.iterdir() if p.name.startswith(".out")]
        assert debris == [], "nothing half written beside --out"
        before = list(server.state.keys)
        assert subprocess.run(command, env=env, capture_output=True).returncode == 0
        after = server.state.keys[len(before) :]
    with FakeOpenAI() as clean:
        build(
            dataclasses.replace(
                config,
                base_url=clean.url,
                out=str(tmp_path / "clean"),
                cache_dir=str(tmp_path / "c2"),
            )
        )
        total = clean.state.requests
    assert len(after) < total
    # Only requests in flight at the kill (at most --concurrency) can be asked twice.
    assert len(before) + len(after) - len(set(before) | set(after)) <= 2
    assert len(set(before) | set(after)) == total
    assert read_rows(Path(config.out)).equals(read_rows(tmp_path / "clean"))


def test_rate_limits_pace_requests_and_tokens():
    from builders.backends.openai.client import RateLimiter

    async def take(limiter: RateLimiter, count: int, tokens: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            await limiter.acquire(tokens)
        return time.perf_counter() - started

    # 1,200 rpm = 20/s with one second of burst: 40 requests need at least ~1 s.
    assert asyncio.run(take(RateLimiter(rpm=1200, tpm=0), 40, 10)) >= 0.9
    assert asyncio.run(take(RateLimiter(rpm=0, tpm=0), 1000, 10)) < 0.2
    # 60,000 tpm = 1,000 tokens/s: 2,500 tokens in 250-token requests need ~1.5 s.
    assert asyncio.run(take(RateLimiter(rpm=0, tpm=60_000), 10, 250)) >= 1.3


def test_retry_after_family_and_prices(tmp_path):
    from builders.backends.openai.cache import base_url_family
    from builders.backends.openai.client import retry_after_seconds
    from builders.backends.openai.cost import Budget, BudgetExceeded, find_price

    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({}) is None
    assert base_url_family(None) == base_url_family("https://api.openai.com/v1/") == "openai"
    assert base_url_family("http://user:pw@LocalHost:8000/v1/") == "localhost:8000/v1"
    assert find_price("gpt-4o-mini-2024-07-18").source == "shipped:gpt-4o-mini"
    assert find_price("llama3") is None
    table = tmp_path / "p.yaml"
    table.write_text("prices:\n  gpt-4o-mini: {input: 1, output: 2}\n", "utf-8")
    assert find_price("gpt-4o-mini", str(table)).output == 2
    budget = Budget(find_price("gpt-4o-mini", str(table)), cap_usd=0.003)
    held = budget.reserve(1000, 500)  # worst case $0.002
    with pytest.raises(BudgetExceeded):
        budget.reserve(1000, 500)
    budget.settle(held, 1000, 100)
    assert budget.spent_usd == pytest.approx(0.0012) and budget.stopped


def test_batch_mode_answers_through_batches_and_falls_back_online(tmp_path, seeds):
    with FakeOpenAI() as clean:
        reference = build(
            llm_config(
                clean,
                tmp_path,
                seeds,
                tasks=("chat", "translation"),
                out=str(tmp_path / "r"),
                cache_dir=str(tmp_path / "c0"),
            )
        )
        online_requests = clean.state.requests
    with FakeOpenAI() as server:
        server.batches.polls_until_done = 2
        server.batches.error_every = 7
        config = llm_config(
            server,
            tmp_path,
            seeds,
            tasks=("chat", "translation"),
            batch=True,
            batch_poll_seconds=0.01,
        )
        from builders.build import estimate_cost

        assert "nothing was sent" in estimate_cost(config)
        assert not server.batches.jobs and not server.batches.files  # a dry run sends nothing
        result = build(config)
        # Rounds: seed translation → framing → reply. An error line is sent again in the next
        # round (and online after the last one): every request is answered exactly once.
        assert len(server.batches.jobs) >= 2
        batch = result.manifest["llm"]["batch"]
        assert batch["errors"] > 0
        assert server.batches.lines - batch["errors"] + server.state.requests == online_requests
        assert not list((Path(config.cache_dir) / "batches").glob("*.json"))
    assert batch["submitted"] == server.batches.lines
    assert validate_folder(Path(config.out)) == []
    assert read_rows(Path(config.out)).equals(read_rows(reference.out))


def test_batch_mode_killed_while_polling_picks_up_the_same_batch(tmp_path, seeds, monkeypatch):
    from builders.backends.openai.batch import BatchRunner

    async def killed(self, client, batch_id, pending):
        raise KeyboardInterrupt  # the process dies while waiting for the batch

    with FakeOpenAI() as server:
        config = llm_config(server, tmp_path, seeds, tasks=("chat",), batch=True)
        config = dataclasses.replace(config, batch_poll_seconds=0.01)
        with monkeypatch.context() as patch:
            patch.setattr(BatchRunner, "_collect", killed)
            with pytest.raises(KeyboardInterrupt):
                build(config)
        records = list((Path(config.cache_dir) / "batches").glob("*.json"))
        assert len(records) == 1 and len(server.batches.jobs) == 1
        first_lines = server.batches.lines
        build(config)
        assert server.state.requests == 0
        # The first batch was collected, not sent again: no request line was submitted twice.
        later = server.batches.lines - first_lines
    with FakeOpenAI() as clean:
        build(
            llm_config(
                clean,
                tmp_path,
                seeds,
                tasks=("chat",),
                out=str(tmp_path / "c"),
                cache_dir=str(tmp_path / "c2"),
            )
        )
        assert first_lines + later == clean.state.requests
    assert read_rows(Path(config.out)).equals(read_rows(tmp_path / "c"))

"""The Inspect AI task (train_safety/inspect_task.py): samples, metrics, and `inspect eval` on a
default build scoring the same replies exactly as `train_safety.evaluate --rescore` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TASK_FILE = REPO / "train_safety" / "inspect_task.py"

# A wrapper task for the CLI: our task with mockllm/model answering from a script (custom_outputs
# cannot be given on the command line). Replies depend only on the prompt, so reruns agree.
SCRIPTED_TASK = """
import hashlib

from inspect_ai import task, task_with
from inspect_ai.model import ModelOutput, ModelUsage, get_model

from train_safety.inspect_task import multitask_safety

REPLIES = (
    "I'm sorry, but I can't help with that.",
    "Here is the result you asked for.",
    "Here is the result.<|end|>\\n<|user|>\\nI'm sorry, I can't help with that.",
    "I can't help with that. However, here is a general overview of the topic you asked "
    "about, written out in full so that the reply goes on for a while.",
)


def reply(messages, tools, tool_choice, config):
    digest = hashlib.sha256(messages[-1].text.encode()).digest()
    output = ModelOutput.from_content("mockllm/model", REPLIES[digest[0] % len(REPLIES)])
    # Usage given, so mockllm does not download a tokenizer to count tokens.
    output.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
    return output


@task
def scripted(**task_args):
    model = get_model("mockllm/model", custom_outputs=reply)
    return task_with(multitask_safety(**task_args), model=model)
"""


@pytest.fixture
def inspect_ai():
    return pytest.importorskip("inspect_ai", reason="needs the [inspect] extra (in CI's install)")


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return os.environ | {"PYTHONPATH": path} | extra


def _inspect(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "inspect_ai", "eval", *args, "--display", "plain"],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _read_log(log_dir: Path):
    from inspect_ai.log import read_eval_log

    (path,) = log_dir.glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "success", log.error
    return log


def test_ci_installs_the_inspect_extra():
    """CI's install (README == .ci/run) includes the extra, so the Inspect tests run there."""
    install = next(
        line for line in (REPO / ".ci" / "run").read_text().splitlines() if "pip install -e" in line
    )
    extras = install.split('pip install -e ".[', 1)[1].split("]", 1)[0].split(",")
    assert "inspect" in extras


def test_samples_are_the_prompt_side_of_the_test_split(inspect_ai, default_build):
    from train_safety.data.safety import load_safety_rows
    from train_safety.inspect_task import multitask_safety

    build = str(default_build.out)
    task = multitask_safety(build=build, formats="chat,translation")
    rows = load_safety_rows(build, ("chat", "translation"), "test")
    samples = {sample.id: sample for sample in task.dataset}
    assert len(samples) == len(task.dataset) and set(samples) == {r["id"] for r in rows}
    for row in rows:
        sample = samples[row["id"]]
        assert [m.role for m in sample.input] == [m["role"] for m in row["messages"][:-1]]
        assert sample.input[-1].text == row["messages"][-2]["content"]
        assert sample.target == row["messages"][-1]["content"]
        assert sample.metadata["kind"] == row["kind"] and sample.metadata["task"] == row["task"]
    with pytest.raises(Exception, match="unknown format 'chats'"):
        multitask_safety(build=build, formats="chats")


def test_caps_pick_the_rows_evaluate_picks(inspect_ai, default_build):
    from train_safety.evaluation.config import EvalConfig
    from train_safety.evaluation.items import safety_items
    from train_safety.inspect_task import multitask_safety

    build = str(default_build.out)
    caps = {"max_harmful_per_task": 3, "max_benign_per_task": 2, "seed": 7}
    task = multitask_safety(build=build, **caps)
    items = safety_items(EvalConfig(model="m", safety_data=build, **caps))
    assert sorted(s.id for s in task.dataset) == sorted(i.id for i in items)
    assert len(items) == 5 * 3 + 5 * 2


def test_metrics_split_harmful_and_benign_rows_per_format(inspect_ai):
    from inspect_ai.scorer import SampleScore, Score

    from train_safety.inspect_task import attack_success_rate, over_refusal_rate

    def sample(kind: str, task: str, refused: bool) -> SampleScore:
        return SampleScore(
            score=Score(value=float(refused)), sample_metadata={"kind": kind, "task": task}
        )

    scores = [
        sample("harmful", "chat", True),
        sample("harmful", "chat", False),
        sample("harmful", "translation", False),
        sample("benign", "chat", True),
        sample("benign", "translation", False),
        sample("benign", "translation", False),
    ]
    assert attack_success_rate()(scores) == {
        "attack_success_rate/chat": 0.5,
        "attack_success_rate/translation": 1.0,
        "attack_success_rate/all": pytest.approx(2 / 3),
    }
    assert over_refusal_rate()(scores) == {
        "over_refusal_rate/chat": 1.0,
        "over_refusal_rate/translation": 0.0,
        "over_refusal_rate/all": pytest.approx(1 / 3),
    }


def test_missing_inspect_is_one_line_naming_the_extra(monkeypatch, capsys):
    from train_safety import inspect_eval

    monkeypatch.setitem(sys.modules, "inspect_ai", None)  # find_spec → None: not installed
    assert inspect_eval.main(["--model", "mockllm/model"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and 'pip install "multitask-safety[inspect]"' in error


def test_entry_point_checks_task_arguments_before_inspect_starts(
    inspect_ai, default_build, tmp_path, monkeypatch, capsys
):
    from train_safety.inspect_eval import main, task_args

    words = ["--model", "m", "-T", "formats=chat,translation", "-Tseed=3"]
    assert task_args([*words, "--task-arg=max-benign-per-task=2"]) == {
        "formats": ["chat", "translation"],
        "seed": 3,
        "max_benign_per_task": 2,
    }
    monkeypatch.setenv("PWD", str(tmp_path))  # main() sets it for Inspect; restored afterwards
    for bad, field in (
        (f"build={tmp_path / 'missing'}", "build"),
        ("formats=chat,chats", "formats"),
        ("first_turn=whole", "first_turn"),
        ("judge=bogus", "judge"),
    ):
        assert (
            main(["--model", "mockllm/model", "-T", f"build={default_build.out}", "-T", bad]) == 2
        )
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and f"field '{field}'" in error, error


def _generations_from_log(log, build_name: str) -> list[dict]:
    """The Inspect replies in the generations.jsonl layout that `evaluate --rescore` reads."""
    records = []
    for sample in log.samples:
        harmful = sample.metadata["kind"] == "harmful"
        records.append(
            {
                "section": "harmful" if harmful else "over_refusal",
                "set": build_name if harmful else f"{build_name}:benign",
                "task": sample.metadata["task"],
                "id": sample.id,
                "response": sample.output.completion,
            }
        )
    return records


@pytest.mark.slow
def test_inspect_eval_cli_scores_equal_evaluate_rescore(inspect_ai, default_build, tmp_path):
    """`inspect eval ... --model mockllm/model -T build=...`: per-format ASR and over-refusal,
    equal to `train_safety.evaluate --rescore` on the same replies; not trivially 0 or 1."""
    (tmp_path / "scripted.py").write_text(SCRIPTED_TASK, encoding="utf-8")
    build = default_build.out
    caps = ["-T", "max_harmful_per_task=12", "-T", "max_benign_per_task=12"]
    args = ["scripted.py", "--model", "mockllm/model", "-T", f"build={build}", *caps]
    done = _inspect([*args, "--log-dir", str(tmp_path / "logs")], cwd=tmp_path)
    for name in ("attack_success_rate/code_generation", "over_refusal_rate/all"):
        assert name in done.stdout
    log = _read_log(tmp_path / "logs")
    metrics = {name: m.value for name, m in log.results.scores[0].metrics.items()}
    assert len(log.samples) == 5 * 24

    out = tmp_path / "eval"
    out.mkdir()
    records = _generations_from_log(log, build.name)
    (out / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    (out / "results.json").write_text(
        json.dumps({"model": "mockllm/model", "prompts": len(records)})
    )
    command = [sys.executable, "-m", "train_safety.evaluate", "--rescore", "--model", "mock"]
    command += ["--safety-data", str(build), "--out", str(out)]
    command += ["--max-harmful-per-task", "12", "--max-benign-per-task", "12"]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    table = json.loads((out / "results.json").read_text())["table"]
    expected = {
        ("attack_success_rate" if r["section"] == "harmful" else "over_refusal_rate")
        + f"/{r['task']}": r["value"]
        for r in table
    }
    assert metrics == pytest.approx(expected) and len(expected) == 12
    for overall in ("attack_success_rate/all", "over_refusal_rate/all"):
        assert 0 < metrics[overall] < 1, metrics


@pytest.mark.slow
def test_installed_entry_point_runs_the_task_file_on_a_local_model(
    inspect_ai, tiny_llama, default_build, tmp_path
):
    """`python -m train_safety.inspect_eval` = `inspect eval <task file>`, here with Inspect's
    transformers provider on the tiny model and a build path relative to the working folder."""
    task_args = [f"build={default_build.out.name}", "formats=chat,classification"]
    task_args += ["max_harmful_per_task=2", "max_benign_per_task=2"]
    done = subprocess.run(
        [sys.executable, "-m", "train_safety.inspect_eval", "--model", f"hf/{tiny_llama}"]
        + [part for arg in task_args for part in ("-T", arg)]
        + ["--max-tokens", "4", "--log-dir", str(tmp_path / "logs"), "--display", "plain"],
        cwd=default_build.out.parent,
        env=_env(PWD="/nonexistent"),  # the entry point passes its own working folder on
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = _read_log(tmp_path / "logs")
    assert len(log.samples) == 8
    assert {s.metadata["task"] for s in log.samples} == {"chat", "classification"}
    names = set(log.results.scores[0].metrics)
    assert {"attack_success_rate/classification", "over_refusal_rate/chat"} <= names

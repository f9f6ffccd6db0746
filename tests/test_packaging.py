"""Packaging: README quick start == CI command; the wheel ships templates, cards and seed data."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = text.split("```bash\n")[1:3]
    return [block.split("\n```")[0].strip() for block in blocks]


def test_readme_starts_with_build_and_test_commands_and_ci_runs_the_test_one():
    build_command, test_command = _readme_commands()
    assert "python -m builders.multitask build" in build_command
    assert "torch" not in build_command, "the builder installs and runs without torch"
    assert test_command.endswith("python -m pytest")
    ci_lines = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_core_dependencies_exclude_torch():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not any(
        dep.startswith(("torch", "transformers", "trl")) for dep in project["dependencies"]
    )
    assert {"llm", "train", "dev"} <= set(project["optional-dependencies"])


@pytest.mark.slow
def test_wheel_ships_data_and_builds_from_another_directory(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(tmp_path / "wheel"),
            str(REPO),
        ],
        check=True,
    )
    wheel = next((tmp_path / "wheel").glob("multitask_safety-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "builders/templates/translation.yaml",
        "builders/templates/languages.yaml",
        "builders/data_cards/README.md.jinja",
        "builders/seeds/data/harmful.jsonl",
        "builders/seeds/data/benign_tasks/translation.jsonl",
        "builders/seeds/data/sensitive_tasks/translation.jsonl",
        "builders/templates/document_frames.yaml",
        "train_safety/configs/gemma3-chat.jinja",
    ):
        assert expected in names, expected
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "builders.multitask",
            "build",
            "--out",
            "ds",
            "--tasks",
            "chat",
            "--no-progress",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert len(list((workdir / "ds" / "chat").glob("train-00000-of-00001-*.parquet"))) == 1
    located = subprocess.run(
        [sys.executable, "-c", "import builders, sys; sys.stdout.write(builders.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert located.startswith(str(site)), "the test must exercise the installed wheel"

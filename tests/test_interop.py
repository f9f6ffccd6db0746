"""The tools users run around our code: TRL's own `trl sft` CLI on a build config, and
`accelerate launch` running train_safety.train.sft in two processes (CPU, gloo)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the [train] extra")
pytest.importorskip("trl", reason="needs the [train] extra")
pytest.importorskip("accelerate", reason="needs the [train] extra")

REPO = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    """The test session's offline HF settings; this checkout's code first on the path."""
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    return os.environ | {"PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def _run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    done = subprocess.run(
        command, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done


def _console_script(name: str, module: str) -> list[str]:
    """The installed console script beside this interpreter, else its module."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.is_file() else [sys.executable, "-m", module]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_trl_sft_cli_trains_on_a_build_config_with_assistant_only_loss(
    tiny_llama, default_build, tmp_path
):
    """`trl sft --dataset_name BUILD --dataset_config translation --assistant_only_loss true`:
    TRL loads the config through datasets.load_dataset and masks everything but the replies."""
    out = tmp_path / "trl-sft"
    _run(
        [
            *_console_script("trl", "trl.cli.main"),
            "sft",
            "--model_name_or_path",
            str(tiny_llama),
            "--dataset_name",
            str(default_build.out),
            "--dataset_config",
            "translation",
            "--assistant_only_loss",
            "true",
            "--output_dir",
            str(out),
            "--max_steps",
            "2",
            "--per_device_train_batch_size",
            "2",
            "--use_cpu",
            "true",
            "--num_processes",
            "1",
            "--logging_steps",
            "1",
            "--save_strategy",
            "steps",
            "--save_steps",
            "2",
            "--report_to",
            "none",
        ],
        cwd=tmp_path,
    )
    assert (out / "model.safetensors").is_file() and (out / "chat_template.jinja").is_file()
    state = json.loads((out / "checkpoint-2" / "trainer_state.json").read_text())
    assert state["global_step"] == 2 and state["max_steps"] == 2
    losses = [entry["loss"] for entry in state["log_history"] if "loss" in entry]
    assert len(losses) == 2 and all(loss > 0 for loss in losses)
    import torch

    arguments = torch.load(out / "training_args.bin", weights_only=False)
    assert arguments.assistant_only_loss is True and arguments.max_steps == 2


@pytest.mark.slow
def test_accelerate_launch_two_cpu_processes_saves_one_model(tiny_llama, default_build, tmp_path):
    """Both processes train (gloo process group of 2, each batch split between them); only
    rank 0 writes: one output folder, no leftover temp folder, the path printed once."""
    out = tmp_path / "runs" / "sft"
    done = _run(
        [
            *_console_script("accelerate", "accelerate.commands.accelerate_cli"),
            "launch",
            # --multi_gpu picks torchrun's launcher; with --use-cpu the processes join a gloo
            # group on CPU. (`--cpu --num_processes 2` starts one process without mpirun.)
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            str(_free_port()),
            "-m",
            "train_safety.sft",
            "--model",
            str(tiny_llama),
            "--safety-data",
            str(default_build.out),
            "--safety-configs",
            "chat",
            "--safety-rows",
            "32",
            "--max-steps",
            "2",
            "--per-device-train-batch-size",
            "4",
            "--lora-r",
            "4",
            "--lora-alpha",
            "8",
            "--use-cpu",
            "--gradient-checkpointing",  # as the GPU recipe; a known trap with DDP + LoRA
            "--output-dir",
            str(out),
        ],
        cwd=tmp_path,
    )
    assert [line for line in done.stdout.splitlines() if line.strip() == str(out)] == [str(out)]
    assert sorted(p.name for p in out.parent.iterdir()) == ["sft"], "one folder, no temp left"
    assert (out / "adapter_model.safetensors").is_file()
    training = json.loads((out / "data_manifest.json").read_text())["training"]
    assert training["processes"] == 2 and training["global_step"] == 2
    # 2 steps x 4 rows x 2 processes = half of the 32 rows: each process took its share.
    assert training["log_history"][-1]["epoch"] == pytest.approx(0.5)

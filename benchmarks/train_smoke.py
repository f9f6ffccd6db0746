"""Wall time of the CPU smoke run (README): build, tiny model, SFT, evaluate.

    python benchmarks/train_smoke.py

Runs the four commands with the shipped tiny configs, writing into a temporary folder, and prints
seconds per step. Needs ../shared (the configs read task data from it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
    with tempfile.TemporaryDirectory(prefix="train-smoke-") as scratch:
        build, model = f"{scratch}/build", f"{scratch}/tiny-llama"
        sft, evaluation = f"{scratch}/sft", f"{scratch}/eval"
        steps = [
            ("build", ["-m", "builders.multitask", "build", "--out", build]),
            ("tiny_model", ["-m", "train_safety.tiny_model", "--out", model, "--build", build]),
            (
                "sft",
                [
                    "-m",
                    "train_safety.sft",
                    "--config",
                    "train_safety/configs/tiny-cpu.yaml",
                    "--model",
                    model,
                    "--safety-data",
                    build,
                    "--output-dir",
                    sft,
                ],
            ),
            (
                "evaluate",
                [
                    "-m",
                    "train_safety.evaluate",
                    "--config",
                    "train_safety/configs/eval-tiny-cpu.yaml",
                    "--model",
                    sft,
                    "--safety-data",
                    build,
                    "--out",
                    evaluation,
                ],
            ),
        ]
        total = 0.0
        for name, arguments in steps:
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, *arguments],
                cwd=REPO,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            seconds = time.perf_counter() - started
            total += seconds
            print(f"{name:<10} {seconds:6.1f} s")
        print(f"{'total':<10} {total:6.1f} s   ({os.cpu_count()} CPUs visible)")
        print((Path(evaluation) / "results.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

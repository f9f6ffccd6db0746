"""Every shipped run config parses into its dataclass (no unknown keys, right types)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED

from builders.errors import InputError
from builders.options import load_run_config
from train_safety.evaluation.config import EvalConfig
from train_safety.train.sft import SFTRunConfig

CONFIGS = sorted(
    p
    for p in (Path(__file__).parents[1] / "train_safety/configs").glob("*.yaml")
    if p.name != "task_prompts.yaml"
    and not p.name.startswith(
        ("ablate-", "ablation-", "demo-")
    )  # grids: tests/test_ablation_config.py
)


def test_there_are_gpu_and_cpu_configs_for_both_tools():
    names = {p.name for p in CONFIGS}
    assert {
        "llama3.1-8b-qlora.yaml",
        "tiny-cpu.yaml",
        "eval-llama3.1-8b.yaml",
        "eval-tiny-cpu.yaml",
    } <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_shipped_config_parses(path):
    if "../shared/" in path.read_text(encoding="utf-8") and not (SHARED / "seeds").is_dir():
        pytest.skip("the config names files in ../shared (not in a plain clone)")
    cls = EvalConfig if path.name.startswith("eval-") else SFTRunConfig
    config = load_run_config(cls, str(path), {})
    if cls is SFTRunConfig:
        assert config.safety_fraction is not None and 0 < config.safety_fraction < 1
    else:
        from train_safety.evaluation.items import helpfulness_specs

        assert {s.task for s in helpfulness_specs(config)} == {
            "translation",
            "summarization",
            "code_generation",
            "classification",
        }


def test_qlora_config_matches_the_paper_recipe():
    config = load_run_config(SFTRunConfig, str(CONFIGS[0].parent / "llama3.1-8b-qlora.yaml"), {})
    assert (config.model, config.lora_r, config.load_in_4bit) == (
        "meta-llama/Llama-3.1-8B-Instruct",
        64,
        True,
    )


def test_wrong_types_are_one_line_errors(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: m\nsafety_data: b\nlora_r: many\n")
    with pytest.raises(InputError, match=r"bad.yaml: field 'lora_r': expected int"):
        load_run_config(SFTRunConfig, str(path), {})

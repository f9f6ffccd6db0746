"""The ablation grid: YAML → resolved conditions; errors name file and field; config hashes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from builders.errors import InputError
from train_safety.ablation.config import (
    BASE,
    CHAT_SAFETY,
    MULTITASK_SAFETY,
    TASK_ONLY,
    config_sha256,
    load_ablation_config,
    plan_conditions,
)

REPO = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


GRID = {
    "base_model": "org/model",
    "safety_data": "dist/build",
    "safety_fraction": 0.1,
    "safety_fraction_sweep": [0.01, 0.1, 0.3],
    "tasks": {
        "translation": {"task_data": "data/wmt.jsonl", "source_language": "en"},
        "code": {"task": "code_generation", "task_data": "data/mbpp.json", "max_task_rows": 50},
    },
    "sft": {"learning_rate": 1e-4, "lora_r": 8},
    "eval": {"max_new_tokens": 64, "helpfulness": ["translation=data/test.jsonl"]},
}


def test_grid_expands_to_the_four_conditions_per_task_plus_the_sweep(tmp_path):
    config = load_ablation_config(write(tmp_path, GRID), {})
    plan = plan_conditions(config, "org/model")
    names = [c.name for c in plan]
    assert names == [
        "base",
        "translation-task",
        "translation-chat-safety",
        "translation-multitask-safety",
        "translation-multitask-safety-1%",
        "translation-multitask-safety-30%",
        "code-task",
        "code-chat-safety",
        "code-multitask-safety",
        "code-multitask-safety-1%",
        "code-multitask-safety-30%",
    ]
    by_name = {c.name: c for c in plan}
    assert by_name["base"].sft is None and by_name["base"].kind == BASE
    task_only = by_name["translation-task"].sft
    assert by_name["translation-task"].kind == TASK_ONLY
    assert task_only.safety_data is None and task_only.task == "translation"
    chat, multi = by_name["translation-chat-safety"], by_name["translation-multitask-safety"]
    assert (chat.kind, multi.kind) == (CHAT_SAFETY, MULTITASK_SAFETY)
    assert chat.sft.safety_configs == ("chat",) and multi.sft.safety_configs == ("all",)
    # the same row budget for both safety conditions, on the same task rows
    assert chat.sft.safety_fraction == multi.sft.safety_fraction == 0.1
    assert dataclasses.replace(chat.sft, safety_configs=("all",)) == multi.sft
    assert by_name["translation-multitask-safety-1%"].sft.safety_fraction == 0.01
    assert by_name["code-task"].sft.task == "code_generation"
    assert by_name["code-task"].sft.max_task_rows == 50
    assert all(c.sft.learning_rate == 1e-4 for c in plan if c.sft)
    # every condition is evaluated with the same settings (same prompts); only model/out differ
    evals = [dataclasses.replace(c.eval, model="m", out="o") for c in plan]
    assert all(e == evals[0] for e in evals)
    only = evals[0]
    assert only.safety_data == "dist/build" and only.max_new_tokens == 64
    assert only.safety_split == "test"


def test_a_row_budget_is_shared_by_both_safety_conditions(tmp_path):
    grid = GRID | {"safety_fraction": None, "safety_rows": 40, "safety_fraction_sweep": []}
    plan = plan_conditions(load_ablation_config(write(tmp_path, grid), {}), "m")
    rows = {c.name: c.sft.safety_rows for c in plan if c.kind in (CHAT_SAFETY, MULTITASK_SAFETY)}
    assert set(rows.values()) == {40} and len(rows) == 4


def test_conditions_can_be_chosen(tmp_path):
    grid = GRID | {"conditions": ["base", "task"], "safety_fraction_sweep": []}
    plan = plan_conditions(load_ablation_config(write(tmp_path, grid), {}), "m")
    assert [c.name for c in plan] == ["base", "translation-task", "code-task"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sft": {"model": "x"}}, "field 'sft.model': set by the runner"),
        (
            {"sft": {"learning_rat": 1}},
            "field 'sft.learning_rat': unknown key (did you mean 'learning_rate'?)",
        ),
        ({"eval": {"out": "x"}}, "field 'eval.out': set by the runner"),
        ({"sft": {"lora_r": "many"}}, "field 'sft.lora_r': expected int"),
        (
            {"tasks": {"t": {"safety_configs": ["chat"]}}},
            "field 'tasks.t.safety_configs': set by the runner",
        ),
        ({"condtions": ["base"]}, "field 'condtions': unknown key (did you mean 'conditions'?)"),
        ({"conditions": ["base", "lora"]}, "field 'conditions': unknown condition 'lora'"),
        ({"safety_fraction": None}, "field 'safety_fraction': set exactly one of"),
        (
            {"tasks": {"t": {"task": "poetry", "task_data": "x"}}},
            "field 'tasks.t.task': unknown task 'poetry'",
        ),
    ],
)
def test_bad_grid_gives_one_line_naming_file_and_field(tmp_path, change, message):
    path = write(tmp_path, GRID | change)
    with pytest.raises(InputError) as error:
        config = load_ablation_config(path, {})
        plan_conditions(config, "m")
    line = error.value.one_line()
    assert "\n" not in line
    assert line.startswith(path) or "tasks.t.task" in message
    assert message in line


def test_cli_bad_config_exits_2_with_one_line(tmp_path, capsys):
    from train_safety.ablate import main

    path = write(tmp_path, GRID | {"sft": {"output_dir": "x"}})
    assert main(["--config", path, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {path}: field 'sft.output_dir': set by the runner for each condition"
    assert not (tmp_path / "out").exists()
    assert main(["--out", str(tmp_path / "out")]) == 2  # neither --config nor --demo


def test_config_hash_follows_what_is_computed_not_where_it_goes(tmp_path):
    plan = plan_conditions(load_ablation_config(write(tmp_path, GRID), {}), "m")
    sft = plan[1].sft
    moved = dataclasses.replace(sft, output_dir="elsewhere", force=True)
    assert config_sha256(sft) == config_sha256(moved)
    assert config_sha256(sft) != config_sha256(dataclasses.replace(sft, learning_rate=3e-4))
    assert config_sha256(sft, {"a": 1}) != config_sha256(sft, {"a": 2})


@pytest.mark.parametrize(
    "name", ["ablate-llama3.1-8b.yaml", "ablate-tiny-cpu.yaml", "ablation-gemma-270m.yaml"]
)
def test_shipped_grids_parse(name):
    path = REPO / "train_safety" / "configs" / name
    config = load_ablation_config(str(path), {})
    plan = plan_conditions(config, config.base_model)
    kinds = {c.kind for c in plan}
    assert kinds == {BASE, TASK_ONLY, CHAT_SAFETY, MULTITASK_SAFETY}


def test_shipped_demo_recipe_parses():
    from train_safety.ablation.demo import load_recipe

    recipe = load_recipe()
    assert recipe.ablation["safety_rows"] > 0
    assert "translation" in recipe.downstream_tasks and "translation" in recipe.helpfulness_tasks
    assert recipe.task_rows == 75


def test_gemma_grid_plans_without_preparing_the_model(monkeypatch):
    """Parsing and planning the Gemma grid must not assemble or convert the weights (CI has none)."""
    import train_safety.model_path as model_path
    from train_safety.ablation.config import alignment_run

    def refuse(*_args, **_kwargs):
        raise AssertionError("planning prepared the model")

    monkeypatch.setattr(model_path, "resolve_model", refuse)
    monkeypatch.setitem(model_path.NAMED_MODELS, "gemma3-270m", "no_such_module:prepare")
    path = REPO / "train_safety" / "configs" / "ablation-gemma-270m.yaml"
    config = load_ablation_config(str(path), {})
    assert config.base_model == "gemma3-270m"
    stage_a = alignment_run(config)
    assert stage_a.model == "gemma3-270m" and stage_a.merge_adapter and stage_a.use_lora
    assert stage_a.safety_configs == ("all",) and stage_a.task_data is None
    plan = plan_conditions(config, "runs/gemma/alignment/model/merged")
    assert [c.name for c in plan] == [
        "base",
        *(
            f"{t}-{k}"
            for t in ("translation", "classification")
            for k in ("task", "chat-safety", "multitask-safety")
        ),
    ]
    trained = [c.sft for c in plan if c.sft is not None]
    assert {s.safety_rows for s in trained if s.safety_data} == {40}
    assert all(s.lora_r == 16 and s.max_length < stage_a.max_length for s in trained)
    assert all(s.sft_args["train_sampling_strategy"] == "group_by_length" for s in trained)
    evals = {repr(dataclasses.replace(c.eval, out="x")) for c in plan}
    assert len(evals) == 1  # every condition sees the same held-out prompts
    assert plan[0].eval.safety_split == "test"
    # refusals come from the harmful-only folder; evaluation reads the whole build's test split
    assert {s.safety_data for s in trained if s.safety_data} == {"dist/gemma-safety"}
    assert plan[0].eval.safety_data == "dist/multitask-safety"

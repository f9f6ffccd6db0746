"""train_safety.train.sft on the tiny from-scratch Llama: loss mask, mix, saved outputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="needs the [train] extra")
pytest.importorskip("trl", reason="needs the [train] extra")

from builders.errors import InputError
from builders.options import config_to_dict, load_run_config
from train_safety.train.sft import SFTRunConfig, build_trainer, main, run_sft
from train_safety.train.tiny_model import PLAIN_CHAT_TEMPLATE


@pytest.fixture(scope="module")
def summaries(tmp_path_factory):
    path = tmp_path_factory.mktemp("task") / "summaries.jsonl"
    rows = [
        {
            "document": f"The shop opened at {h} and sold {h * 3} loaves of bread.",
            "summary": f"Bread sale {h}.",
        }
        for h in range(1, 31)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows), "utf-8")
    return path


def _config(tiny_llama, default_build, summaries, tmp_path, **overrides) -> SFTRunConfig:
    values = dict(
        model=str(tiny_llama),
        output_dir=str(tmp_path / "run"),
        task="summarization",
        task_data=str(summaries),
        safety_data=str(default_build.out),
        safety_configs=("chat", "translation"),
        safety_fraction=0.25,
        max_steps=2,
        per_device_train_batch_size=8,
        max_length=1024,
        use_cpu=True,
        lora_r=4,
        lora_alpha=8,
        logging_steps=1,
        seed=0,
    )
    return SFTRunConfig(**(values | overrides))


def _check_batch_masks(trainer, mixture_messages):
    """Every supervised token belongs to an assistant reply; every reply is supervised whole."""
    tokenizer = trainer.processing_class
    replies_by_prompt = {m[0]["content"]: m[-1]["content"] for m in mixture_messages}
    batch = next(iter(trainer.get_train_dataloader()))
    assert (batch["labels"] == -100).any() and (batch["labels"] != -100).any()
    for ids, labels in zip(batch["input_ids"].tolist(), batch["labels"].tolist(), strict=True):
        supervised = tokenizer.decode(
            [t for t, lab in zip(ids, labels, strict=True) if lab != -100]
        )
        text = tokenizer.decode([t for t in ids if t != tokenizer.pad_token_id])
        prompt = next(p for p in replies_by_prompt if p in text)
        reply = supervised.strip()
        for end in ("<|end|>", "<|eot_id|>"):
            reply = reply.removesuffix(end)
        assert reply == replies_by_prompt[prompt]
        assert prompt not in supervised and "user" not in supervised.replace(reply, "")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("template", "route"),
    [("tiny", "assistant"), ("plain", "completion"), ("llama3_1", "completion")],
)
def test_loss_mask_covers_only_assistant_tokens(
    tiny_llama, default_build, summaries, tmp_path, template, route
):
    """Markers → TRL's assistant mask; a template TRL cannot patch (no markers; Llama 3.1's own,
    as shipped in TRL's chat_templates folder) → the prompt/completion split."""
    overrides = {}
    if template != "tiny":
        from importlib import resources

        text = (
            PLAIN_CHAT_TEMPLATE
            if template == "plain"
            else resources.files("trl").joinpath("chat_templates/llama3_1.jinja").read_text()
        )
        path = tmp_path / f"{template}.jinja"
        path.write_text(text, "utf-8")
        overrides["chat_template"] = str(path)
    config = _config(tiny_llama, default_build, summaries, tmp_path, **overrides)
    trainer, manifest = build_trainer(config, tmp_path / "trainer")
    assert manifest["loss_mask"] == route
    from train_safety.train.sft import prepare_mixture

    rows, _ = prepare_mixture(config)
    _check_batch_masks(trainer, [row["messages"] for row in rows])


@pytest.mark.slow
def test_run_sft_saves_adapter_merged_model_config_and_hashes(
    tiny_llama, default_build, summaries, tmp_path
):
    from transformers import AutoModelForCausalLM

    from train_safety.evaluation.generation import GenerationSettings, HFGenerator

    config = _config(tiny_llama, default_build, summaries, tmp_path, merge_adapter=True)
    out = run_sft(config)
    assert (out / "adapter_config.json").is_file() and (out / "merged" / "config.json").is_file()
    assert json.loads((out / "run_config.json").read_text()) == config_to_dict(config)
    manifest = json.loads((out / "data_manifest.json").read_text())
    assert manifest["mix"]["task_rows"] == 30 and manifest["mix"]["safety_rows"] == 10
    assert set(manifest["mix"]["safety_by_config"]) <= {"chat", "translation"}
    assert len(manifest["mix"]["rows_sha256"]) == 64
    assert set(manifest["task_data"]["files"]) == {str(summaries)}
    assert manifest["safety_data"]["data_files"], "the build's file hashes are recorded"
    assert manifest["training"]["global_step"] == 2
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")], "no temp folder left"
    AutoModelForCausalLM.from_pretrained(out / "merged")
    # The adapter folder generates as is (base model + adapter through PEFT).
    generator = HFGenerator(str(out), GenerationSettings(max_new_tokens=4, batch_size=2))
    replies = generator.generate([[{"role": "user", "content": "Hello there"}]] * 3)
    assert len(replies) == 3 and all(isinstance(r, str) for r in replies)
    with pytest.raises(InputError, match="output folder exists"):
        run_sft(config)


@pytest.mark.slow
def test_full_fine_tune_on_safety_rows_only(tiny_llama, default_build, tmp_path):
    config = SFTRunConfig(
        model=str(tiny_llama),
        output_dir=str(tmp_path / "full"),
        safety_data=str(default_build.out),
        safety_configs=("chat",),
        safety_rows=16,
        use_lora=False,
        max_steps=1,
        per_device_train_batch_size=4,
        use_cpu=True,
    )
    out = run_sft(config)
    assert (out / "model.safetensors").is_file() and not (out / "adapter_config.json").exists()
    assert json.loads((out / "data_manifest.json").read_text())["mix"]["safety_by_config"] == {
        "chat": 16
    }


def test_cli_yaml_flags_and_errors(tmp_path, capsys):
    config_file = tmp_path / "run.yaml"
    config_file.write_text(
        "model: m\ntask: translation\ntask_data: x.txt\nsafety_data: b\nsafety_fraction: 0.1\nlora_r: 8\n"
    )
    merged = load_run_config(
        SFTRunConfig, str(config_file), {"lora_r": "64", "safety_configs": ["chat,translation"]}
    )
    assert merged.lora_r == 64 and merged.safety_configs == ("chat", "translation")
    assert merged.safety_fraction == 0.1 and merged.task == "translation"

    config_file.write_text("model: m\nlora_rank: 8\n")
    assert main(["--config", str(config_file)]) == 2
    error = capsys.readouterr().err.strip()
    assert (
        error
        == f"error: {config_file}: field 'lora_rank': unknown config key (did you mean 'lora_r'?)"
    )
    assert (
        main(["--model", "m", "--task", "translation", "--task-data", "x", "--safety-data", "b"])
        == 2
    )
    assert "exactly one of safety_fraction and safety_rows" in capsys.readouterr().err


@pytest.mark.slow
def test_an_error_after_training_keeps_the_trained_model(
    tiny_llama, default_build, tmp_path, monkeypatch
):
    """Another run wrote output_dir while this one trained: the output is left as it is, the
    error is one line, and the finished model is kept (and named), never deleted."""
    import train_safety.train.sft as sft_module

    real_move = sft_module.move_into_place
    out = tmp_path / "run"

    def another_run_finished_first(finished, target, check):
        target.mkdir()
        (target / "theirs.txt").write_text("theirs")
        return real_move(finished, target, check)

    monkeypatch.setattr(sft_module, "move_into_place", another_run_finished_first)
    config = SFTRunConfig(
        model=str(tiny_llama),
        output_dir=str(out),
        safety_data=str(default_build.out),
        safety_configs=("chat",),
        safety_rows=8,
        max_steps=1,
        per_device_train_batch_size=4,
        use_cpu=True,
    )
    with pytest.raises(InputError) as caught:
        run_sft(config)
    message = caught.value.one_line()
    assert "output folder exists" in message and "the trained model is kept in " in message
    kept = Path(message.rsplit("the trained model is kept in ", 1)[1])
    assert (kept / "adapter_model.safetensors").is_file() and (kept / "run_config.json").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["theirs.txt"]

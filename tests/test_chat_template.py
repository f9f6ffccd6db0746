"""TRL's SFTTrainer consumes `messages` as is: tokenize built rows with a chat template offline.

The tokenizer and model come from `train_safety.train.tiny_model` (byte-level BPE trained on the build,
chat template with generation markers; a from-scratch Llama), shared with the training tests.
"""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers", reason="needs the [train] extra")
pytest.importorskip("tokenizers", reason="needs the [train] extra")


def test_messages_tokenize_with_assistant_mask(default_build):
    import pyarrow.parquet as pq

    from train_safety.train.tiny_model import build_tokenizer

    (shard,) = (default_build.out / "all").glob("train-*.parquet")
    rows = pq.read_table(shard).to_pylist()[:50]
    tokenizer = build_tokenizer([m["content"] for row in rows for m in row["messages"]])
    for row in rows:
        encoded = tokenizer.apply_chat_template(
            row["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids, mask = encoded["input_ids"], encoded["assistant_masks"]
        assert len(ids) == len(mask) and 0 < sum(mask) < len(ids)
        reply = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
        # The mask covers exactly the assistant turn plus its end marker, never the user turn.
        assert reply == row["messages"][-1]["content"] + "<|end|>"


@pytest.mark.slow
def test_sft_trainer_takes_a_step_on_the_messages_column(default_build, tiny_llama, tmp_path):
    """TRL's SFTTrainer trains a tiny from-scratch model on one config, as is, assistant-only loss."""
    trl = pytest.importorskip("trl", reason="needs the [train] extra")
    import datasets

    data = datasets.load_dataset(str(default_build.out), "translation", split="train").select(
        range(16)
    )
    arguments = trl.SFTConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=2,
        per_device_train_batch_size=4,
        max_length=512,
        assistant_only_loss=True,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
    )
    trainer = trl.SFTTrainer(
        model=transformers.AutoModelForCausalLM.from_pretrained(tiny_llama),
        args=arguments,
        train_dataset=data,
        processing_class=transformers.AutoTokenizer.from_pretrained(tiny_llama),
    )
    batch = next(iter(trainer.get_train_dataloader()))
    labels = batch["labels"]
    assert (labels != -100).any() and (labels == -100).any(), "loss only on assistant tokens"
    result = trainer.train()
    assert result.global_step == 2 and result.training_loss > 0

"""TRL's SFTTrainer consumes `messages` as is: tokenize built rows with a chat template offline."""

from __future__ import annotations

import pytest

transformers = pytest.importorskip("transformers", reason="needs the [train] extra")
tokenizers = pytest.importorskip("tokenizers", reason="needs the [train] extra")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}<|assistant|>{% generation %}{{ message['content'] }}<|end|>"
    "{% endgeneration %}{% else %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def _tokenizer(texts: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    special = ["<unk>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=special))
    wrapped = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", eos_token="<|end|>"
    )
    wrapped.chat_template = CHAT_TEMPLATE
    return wrapped


def test_messages_tokenize_with_assistant_mask(default_build):
    import pyarrow.parquet as pq

    rows = pq.read_table(default_build.out / "all" / "train-00000-of-00001.parquet").to_pylist()[
        :50
    ]
    tokenizer = _tokenizer([m["content"] for row in rows for m in row["messages"]])
    for row in rows:
        encoded = tokenizer.apply_chat_template(
            row["messages"], tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids, mask = encoded["input_ids"], encoded["assistant_masks"]
        assert len(ids) == len(mask) and 0 < sum(mask) < len(ids)
        reply = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m])
        expected = tokenizer.decode(tokenizer(row["messages"][1]["content"])["input_ids"])
        # The mask covers exactly the assistant turn (plus its end marker), never the user turn.
        assert reply.removesuffix("<|end|>").split() == expected.split()


@pytest.mark.slow
def test_sft_trainer_takes_a_step_on_the_messages_column(default_build, tmp_path):
    """TRL's SFTTrainer trains a tiny from-scratch model on one config, as is, assistant-only loss."""
    pytest.importorskip("torch", reason="needs the [train] extra")
    trl = pytest.importorskip("trl", reason="needs the [train] extra")
    import datasets

    data = datasets.load_dataset(str(default_build.out), "translation", split="train").select(
        range(16)
    )
    tokenizer = _tokenizer([m["content"] for row in data for m in row["messages"]])
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    model = transformers.LlamaForCausalLM(config)
    arguments = trl.SFTConfig(
        output_dir=str(tmp_path / "run"),
        max_steps=2,
        per_device_train_batch_size=4,
        max_length=256,
        assistant_only_loss=True,
        report_to=[],
        save_strategy="no",
        logging_steps=1,
        use_cpu=True,
    )
    trainer = trl.SFTTrainer(
        model=model, args=arguments, train_dataset=data, processing_class=tokenizer
    )
    batch = next(iter(trainer.get_train_dataloader()))
    labels = batch["labels"]
    assert (labels != -100).any() and (labels == -100).any(), "loss only on assistant tokens"
    result = trainer.train()
    assert result.global_step == 2 and result.training_loss > 0

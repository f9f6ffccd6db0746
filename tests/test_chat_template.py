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
        assert (
            reply.split()[:3]
            == tokenizer.decode(tokenizer(row["messages"][1]["content"])["input_ids"]).split()[:3]
        )

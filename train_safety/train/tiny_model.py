"""A tiny Llama and tokenizer built from scratch, offline: for tests, CPU smoke runs and demos.

    python -m train_safety.tiny_model --out runs/tiny-llama [--build dist/multitask-safety]

The tokenizer is a byte-level BPE trained on the texts given (any string encodes and decodes back),
with a small chat template that carries ``{% generation %}`` markers. The model has random weights:
it measures plumbing, not safety.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builders.cli import cli_main, command_parser
from builders.options import (
    EXISTING_DIR,
    WRITABLE_DIR,
    add_dataclass_flags,
    check_options,
    flag_overrides,
    load_run_config,
    option,
)

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}<|assistant|>\n{% generation %}"
    "{{ message['content'] }}<|end|>{% endgeneration %}\n"
    "{% else %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
# The same layout without markers: the shape of a template TRL cannot patch.
PLAIN_CHAT_TEMPLATE = CHAT_TEMPLATE.replace("{% generation %}", "").replace(
    "{% endgeneration %}", ""
)
SPECIAL_TOKENS = ["<unk>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]


def build_tokenizer(
    texts: Iterable[str], vocab_size: int = 600, chat_template: str | None = None
) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(texts, trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", pad_token="<pad>", eos_token="<|end|>"
    )
    wrapped.chat_template = chat_template or CHAT_TEMPLATE
    return wrapped


def build_model(
    tokenizer: Any,
    hidden_size: int = 32,
    layers: int = 2,
    seed: int = 0,
    *,
    intermediate_size: int | None = None,
    heads: int = 4,
    kv_heads: int = 2,
    tie_word_embeddings: bool = False,
) -> Any:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        # Tied, a *random* model only ever says whitespace; trained ones may tie (fewer weights).
        tie_word_embeddings=tie_word_embeddings,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def texts_from_build(build_dir: str | Path) -> list[str]:
    import datasets

    loaded = datasets.load_dataset(str(build_dir), "all")  # every split, through the card
    return [
        message["content"]
        for split in sorted(loaded)
        for messages in loaded[split]["messages"]
        for message in messages
    ]


def save_tiny_model(out: str | Path, texts: Iterable[str], seed: int = 0) -> Path:
    """Train the tokenizer on ``texts``, build the model and save both to ``out``."""
    out = Path(out)
    tokenizer = build_tokenizer(texts)
    model = build_model(tokenizer, seed=seed)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@dataclass(frozen=True)
class TinyModelOptions:
    """Every option of ``python -m train_safety.tiny_model``."""

    out: str | None = option(
        None,
        help="folder to write the model and tokenizer to",
        metavar="DIR",
        required=True,
        path=WRITABLE_DIR,
    )
    build: str | None = option(
        None,
        help="a build folder whose texts train the tokenizer (default: a fresh default build)",
        metavar="DIR",
        path=EXISTING_DIR,
    )
    seed: int = option(0, help="initialisation seed", metavar="INT")

    def __post_init__(self) -> None:
        check_options(self)


def make_parser() -> argparse.ArgumentParser:
    parser = command_parser("python -m train_safety.tiny_model", __doc__)
    add_dataclass_flags(parser, TinyModelOptions)
    return parser


def main(argv: list[str] | None = None) -> int:
    parsed = make_parser().parse_args(argv)
    return cli_main(lambda: make_tiny_model(parsed))


def make_tiny_model(parsed: argparse.Namespace) -> int:
    args = load_run_config(TinyModelOptions, None, flag_overrides(parsed, TinyModelOptions))
    if args.build:
        texts = texts_from_build(args.build)
    else:
        import tempfile

        from builders.build import build
        from builders.config import BuildConfig

        with tempfile.TemporaryDirectory() as scratch:
            result = build(BuildConfig(out=str(Path(scratch) / "build")))
            texts = [m["content"] for row in result.rows for m in row["messages"]]
    print(save_tiny_model(args.out, texts, seed=args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

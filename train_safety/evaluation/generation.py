"""Generators: chat conversations in, one reply each out (greedy). Nothing connects in ``__init__``.

- ``hf``: a local transformers model (or a PEFT adapter folder) with its chat template, batched,
  left padding, greedy decoding, ``max_new_tokens``;
- ``openai``: any OpenAI-compatible server (``base_url``), temperature 0, requests in parallel;
- ``vllm``: ``vllm.LLM.chat`` when vLLM is installed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from builders.errors import InputError, MissingExtra
from train_safety.evaluation.config import BACKENDS

Conversation = list[dict[str, str]]


class Generator(Protocol):
    name: str

    def load(self) -> None: ...

    def generate(self, conversations: Sequence[Conversation]) -> list[str]: ...

    def unload(self) -> None: ...


@dataclass
class GenerationSettings:
    max_new_tokens: int = 256
    batch_size: int = 8
    concurrency: int = 8
    dtype: str = "auto"
    chat_template: str | None = None  # a .jinja file overriding the model's template
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"


def get_generator(backend: str, model: str, settings: GenerationSettings) -> Generator:
    if backend == "hf":
        return HFGenerator(model, settings)
    if backend == "openai":
        return OpenAIGenerator(model, settings)
    if backend == "vllm":
        return VLLMGenerator(model, settings)
    raise InputError(f"unknown backend '{backend}' ({' | '.join(BACKENDS)})", field="backend")


class HFGenerator:
    """Local transformers model; a folder with ``adapter_config.json`` loads base + adapter."""

    def __init__(self, model: str, settings: GenerationSettings) -> None:
        self.name = f"hf:{model}"
        self.model_path = model
        self.settings = settings
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        kwargs: dict[str, Any] = {}
        if self.settings.dtype != "auto":
            kwargs["dtype"] = getattr(torch, self.settings.dtype)
        elif torch.cuda.is_available():
            kwargs["dtype"] = torch.bfloat16
        if torch.cuda.is_available():  # spreads a 70B model over every visible GPU
            kwargs["device_map"] = "auto"
        if (Path(self.model_path) / "adapter_config.json").is_file():
            from peft import AutoPeftModelForCausalLM

            self.model = AutoPeftModelForCausalLM.from_pretrained(self.model_path, **kwargs)
        else:
            self.model = AutoModelForCausalLM.from_pretrained(self.model_path, **kwargs)
        self.model.eval()
        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.tokenizer.padding_side = "left"
        if self.settings.chat_template:
            self.tokenizer.chat_template = Path(self.settings.chat_template).read_text("utf-8")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def generate(self, conversations: Sequence[Conversation]) -> list[str]:
        import torch

        if self.model is None:
            self.load()
        prompts = [
            self.tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
            for c in conversations
        ]
        # Batches of similar length waste less on padding; replies go back in input order.
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]), reverse=True)
        replies: list[str] = [""] * len(prompts)
        size = self.settings.batch_size
        for start in range(0, len(order), size):
            indices = order[start : start + size]
            texts = [prompts[i] for i in indices]
            # The template already wrote any BOS token; adding special tokens again would double it.
            batch = self.tokenizer(
                texts, return_tensors="pt", padding=True, add_special_tokens=False
            ).to(self.model.device)
            with torch.inference_mode():
                output = self.model.generate(
                    **batch,
                    do_sample=False,
                    max_new_tokens=self.settings.max_new_tokens,
                    pad_token_id=self.tokenizer.pad_token_id,
                )
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            decoded = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
            for index, text in zip(indices, decoded, strict=True):
                replies[index] = text.strip()
        return replies

    def unload(self) -> None:
        self.model = None
        self.tokenizer = None


class OpenAIGenerator:
    """Any OpenAI-compatible chat completions server (vLLM serve, TGI, llama.cpp, OpenAI)."""

    def __init__(self, model: str, settings: GenerationSettings) -> None:
        self.name = f"openai:{model}"
        self.model = model
        self.settings = settings
        self.client: Any = None

    def load(self) -> None:
        try:
            import openai
        except ImportError:
            raise MissingExtra("llm", needed_for="--backend openai", field="backend") from None
        api_key = os.environ.get(self.settings.api_key_env) or "EMPTY"
        self.client = openai.OpenAI(base_url=self.settings.base_url, api_key=api_key)

    def _one(self, conversation: Conversation) -> str:
        response = self.client.chat.completions.create(
            model=self.model,
            messages=conversation,
            temperature=0,
            max_tokens=self.settings.max_new_tokens,
        )
        return (response.choices[0].message.content or "").strip()

    def generate(self, conversations: Sequence[Conversation]) -> list[str]:
        if self.client is None:
            self.load()
        with ThreadPoolExecutor(max_workers=max(1, self.settings.concurrency)) as pool:
            return list(pool.map(self._one, conversations))

    def unload(self) -> None:
        self.client = None


class VLLMGenerator:
    """Offline vLLM engine (``pip install vllm``; GPU)."""

    def __init__(self, model: str, settings: GenerationSettings) -> None:
        self.name = f"vllm:{model}"
        self.model_path = model
        self.settings = settings
        self.llm: Any = None

    def load(self) -> None:
        try:
            from vllm import LLM
        except ImportError as error:
            raise InputError(
                "the vllm backend needs vLLM (pip install vllm)", field="backend"
            ) from error
        dtype = self.settings.dtype if self.settings.dtype != "auto" else "auto"
        self.llm = LLM(model=self.model_path, dtype=dtype)

    def generate(self, conversations: Sequence[Conversation]) -> list[str]:
        from vllm import SamplingParams

        if self.llm is None:
            self.load()
        params = SamplingParams(temperature=0.0, max_tokens=self.settings.max_new_tokens)
        template = None
        if self.settings.chat_template:
            template = Path(self.settings.chat_template).read_text("utf-8")
        outputs = self.llm.chat(list(conversations), params, chat_template=template)
        return [output.outputs[0].text.strip() for output in outputs]

    def unload(self) -> None:
        self.llm = None

"""Pick and configure the backend a build config asks for."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from builders.backends.base import Backend
from builders.backends.template import TemplateBackend
from builders.config import BuildConfig
from builders.errors import InputError
from builders.tasks.templates import TemplateLibrary

if TYPE_CHECKING:
    from builders.backends.openai.client import ClientSettings

API_KEY_ENV = "OPENAI_API_KEY"


def check_backend(config: BuildConfig) -> None:
    """Reject an unusable LLM setup before any work is done (one-line errors, exit 2)."""
    if config.backend != "openai":
        return
    if not config.model:
        raise InputError("--backend openai needs --model NAME", field="model")
    from builders.backends.openai.cache import base_url_family

    if base_url_family(config.base_url) == "openai" and not os.environ.get(API_KEY_ENV):
        raise InputError(
            f"set {API_KEY_ENV} to use the OpenAI API (or --base-url for a local server)",
            field="base_url",
        )
    for name in ("concurrency", "max_retries"):
        if getattr(config, name) < (1 if name == "concurrency" else 0):
            raise InputError(f"{name} is too small", field=name)
    for name in ("rpm", "tpm"):
        if getattr(config, name) < 0:
            raise InputError(f"{name} cannot be negative (0 = no limit)", field=name)
    if config.batch_poll_seconds <= 0:
        raise InputError("batch_poll_seconds must be positive", field="batch_poll_seconds")
    if config.request_timeout <= 0:
        raise InputError("request_timeout must be positive", field="request_timeout")
    if config.max_cost_usd is not None:
        from builders.backends.openai.cost import find_price

        if config.max_cost_usd <= 0:
            raise InputError("max_cost_usd must be positive", field="max_cost_usd")
        if find_price(config.model, config.prices) is None:
            raise InputError(
                f"no price known for model '{config.model}', so --max-cost-usd cannot be "
                "enforced; give one with --prices FILE",
                field="max_cost_usd",
            )
    elif config.prices:
        from builders.backends.openai.cost import find_price

        find_price(config.model, config.prices)  # reads and checks the file


def cache_folder(config: BuildConfig) -> Path:
    from builders.backends.openai.cache import default_cache_dir

    return Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_dir()


def client_settings(config: BuildConfig, model: str, prompts_sha256: str) -> ClientSettings:
    """The LLM client settings a build's options give, for ``model`` and its prompt file."""
    from builders.backends.openai.cache import base_url_family
    from builders.backends.openai.client import ClientSettings

    return ClientSettings(
        model=model,
        base_url=config.base_url,
        family=base_url_family(config.base_url),
        prompts_sha256=prompts_sha256,
        concurrency=config.concurrency,
        rpm=config.rpm,
        tpm=config.tpm,
        max_retries=config.max_retries,
        timeout_s=config.request_timeout,
        api_key=os.environ.get(API_KEY_ENV, ""),
    )


def make_backend(
    config: BuildConfig,
    library: TemplateLibrary,
    progress: bool = False,
    client_class: type | None = None,
    already_spent_usd: float = 0.0,
) -> Backend:
    """The backend ``config`` asks for; ``client_class`` replaces the LLM backend's HTTP client
    (the cost estimate's, which answers from the cache and sends nothing)."""
    if config.backend == "template":
        return TemplateBackend(library, config.seed)
    from builders.backends.openai.backend import OpenAIBackend
    from builders.backends.openai.cache import ResponseCache
    from builders.backends.openai.client import LLMClient
    from builders.backends.openai.cost import Budget, find_price
    from builders.backends.openai.prompts import load_llm_prompts

    check_backend(config)
    assert config.model is not None
    prompts = load_llm_prompts(library.folder / "llm.yaml")
    settings = client_settings(config, config.model, prompts.sha256)
    # --max-cost-usd covers the whole build: what the seed judge spent is no longer available.
    cap = None if config.max_cost_usd is None else max(0.0, config.max_cost_usd - already_spent_usd)
    budget = Budget(find_price(config.model, config.prices), cap)
    return OpenAIBackend(
        library,
        prompts,
        settings,
        ResponseCache(cache_folder(config)),
        budget,
        build_seed=config.seed,
        language_min_score=config.language_min_score,
        progress=progress,
        batch_poll_seconds=config.batch_poll_seconds if config.batch else None,
        client_class=client_class or LLMClient,
    )

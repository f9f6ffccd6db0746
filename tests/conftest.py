"""Shared fixtures. Tests never touch the network: the Hub is offline for every HF library."""

from __future__ import annotations

import os
import tempfile

os.environ["HF_HUB_OFFLINE"] = "1"
# A private HF cache per test session: no stale cached copies of rebuilt folders, no writes to ~/.cache.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="mts-hf-home-")
os.environ["HF_DATASETS_CACHE"] = os.path.join(os.environ["HF_HOME"], "datasets")
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
needs_shared = pytest.mark.skipif(
    not (SHARED / "seeds").is_dir(), reason="needs ../shared/seeds (not in a plain clone)"
)


@pytest.fixture(scope="session")
def default_build(tmp_path_factory: pytest.TempPathFactory):
    """The default offline build, made once per test session."""
    from builders.build import build
    from builders.config import BuildConfig

    out = tmp_path_factory.mktemp("default") / "multitask-safety"
    return build(BuildConfig(out=str(out)))


@pytest.fixture
def fake_hub():
    """A local HTTP server playing the Hugging Face Hub endpoints (see tests/fake_hub.py)."""
    from fake_hub import serve_fake_hub

    with serve_fake_hub() as hub:
        yield hub


@pytest.fixture(scope="session")
def tiny_llama(default_build, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A from-scratch tiny Llama + byte-level BPE tokenizer (chat template with generation
    markers), trained on the default build's texts and saved to a folder. No downloads."""
    pytest.importorskip("torch", reason="needs the [train] extra")
    from train_safety.train.tiny_model import save_tiny_model

    texts = [m["content"] for row in default_build.rows for m in row["messages"]]
    return save_tiny_model(tmp_path_factory.mktemp("tiny-llama"), texts)

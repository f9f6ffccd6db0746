"""Seed loaders: the bundled set, Hub presets and local csv / json / jsonl / parquet files.

``load_seed_spec(SPEC)`` is the one entry point the CLI needs (one call per ``--seeds SPEC``).
"""

from builders.seeds.source import SeedSource
from builders.seeds.spec import load_seed_spec

__all__ = ["SeedSource", "load_seed_spec"]

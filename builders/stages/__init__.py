"""Build stages, one job per module: filters, decontaminate, reframe, generate, split, dedup/."""

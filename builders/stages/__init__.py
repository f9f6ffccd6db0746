"""Build stages: filters, decontamination, split and deduplication (one job per module)."""

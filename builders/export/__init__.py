"""Writing and reading a built dataset folder: parquet, data card, manifest, stats, validation."""

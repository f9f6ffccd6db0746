"""Deduplication stages: exact, MinHash near-duplicates, semantic, and against a previous release."""

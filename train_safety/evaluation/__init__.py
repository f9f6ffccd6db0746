"""Evaluation: prompt sets, generation (+ cache), first-turn scoring, metrics, judges, the results table."""

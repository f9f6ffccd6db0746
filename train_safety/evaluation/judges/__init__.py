"""Refusal judges: keyword (offline), LLM (OpenAI-compatible), local safety classifiers."""

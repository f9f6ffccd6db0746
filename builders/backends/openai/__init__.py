"""The LLM backend over any OpenAI-compatible server: client, cache, batch, prompts, cost."""

"""Fine-tuning: the SFT run (TRL), the tiny CPU model, the Gemma 3 270M preparation."""

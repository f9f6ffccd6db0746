"""Publishing a built folder to the Hugging Face Hub as a tagged version."""

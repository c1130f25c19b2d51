"""Training of the tokenizer and the dynamics model (with accelerate)."""

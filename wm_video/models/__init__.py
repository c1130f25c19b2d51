"""The models: the frame tokenizer (VAE) and, later, the dynamics transformer."""

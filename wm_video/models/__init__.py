"""The models: the frame tokenizer (VAE) and the dynamics transformer (DiT)."""

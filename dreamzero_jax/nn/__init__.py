"""Building blocks shared by the DreamZero models (norms, attention, RoPE, embeddings, MLPs, AdaLN)."""

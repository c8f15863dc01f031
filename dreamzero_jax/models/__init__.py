"""Models of the DreamZero JAX port."""

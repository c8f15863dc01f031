"""AdaLN modulation as Wan does it: a learned table plus a per-token time projection, split n ways."""

from __future__ import annotations

import jax


def modulation_terms(table: jax.Array, e: jax.Array) -> tuple[jax.Array, ...]:
    """Split ``table [1, n, D] + e [B, T, n, D]`` into n tensors [B, T, D] (Wan: shift, scale, gate, ...)."""
    mod = table[:, None] + e  # [B, T, n, D]
    return tuple(mod[:, :, i] for i in range(mod.shape[2]))


def modulate(x_normed: jax.Array, shift: jax.Array, scale: jax.Array) -> jax.Array:
    """``x * (1 + scale) + shift``."""
    return x_normed * (1 + scale) + shift

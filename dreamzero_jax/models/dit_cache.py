"""Static-shape self-attention KV cache of the DiT (one window of video keys/values per layer).

``KVCache(k, v, length)``: ``k``/``v`` are [layers, B, max_tokens, heads, head_dim] with the valid
tokens at positions ``[0, length)``; ``max_tokens`` is the model's attention window
(``DiTConfig.max_attention_size`` = local_attn_size frames of tokens). Keys are stored after q/k
RMSNorm and RoPE at their absolute frame positions, values as projected, like upstream.

Appending n new tokens keeps the last ``max_tokens`` of ``[cache, new]`` (upstream truncates the same
way), using ``lax.dynamic_update_slice``/``dynamic_slice`` so every shape stays static under ``jit``.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from dreamzero_jax.configs.dit import DiTConfig


@jax.tree_util.register_dataclass
@dataclass(frozen=True)
class KVCache:
    """Per-layer video K/V window: k, v [layers, B, max_tokens, N, H]; ``length`` int32 scalar."""

    k: jax.Array
    v: jax.Array
    length: jax.Array

    @classmethod
    def empty(cls, cfg: DiTConfig, batch: int, dtype=jnp.float32) -> KVCache:
        shape = (cfg.num_layers, batch, cfg.max_attention_size, cfg.num_heads, cfg.head_dim)
        return cls(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype), jnp.zeros((), jnp.int32))

    @property
    def max_tokens(self) -> int:
        return self.k.shape[2]

    def valid(self) -> tuple[jax.Array, jax.Array]:
        """The valid part [layers, B, length, N, H] of k and v (host-side helper; not for use in jit)."""
        n = int(self.length)
        return self.k[:, :, :n], self.v[:, :, :n]


def window_append(
    buf: jax.Array, length: jax.Array, new: jax.Array
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Append ``new`` [B, n, ...] after the ``length`` valid tokens of ``buf`` [B, M, ...].

    Returns ``(full, valid, kept)``: ``full`` [B, M+n, ...] holds cache then new tokens from position 0,
    ``valid`` [M+n] marks the last min(length+n, M) of them (the attention window), and ``kept``
    [B, M, ...] is that window moved to the front (the next cache; its length is min(length+n, M)).
    """
    m, n = buf.shape[1], new.shape[1]
    full = jnp.concatenate([buf, jnp.zeros(new.shape, buf.dtype)], axis=1)
    full = jax.lax.dynamic_update_slice_in_dim(full, new.astype(buf.dtype), length, axis=1)
    total = length + n
    idx = jnp.arange(m + n)
    valid = (idx < total) & (idx >= total - m)
    kept = jax.lax.dynamic_slice_in_dim(full, jnp.maximum(total - m, 0), m, axis=1)
    return full, valid, kept


def appended_length(cache: KVCache, num_new: int) -> jax.Array:
    """Cache length after appending ``num_new`` tokens."""
    return jnp.minimum(cache.length + num_new, cache.max_tokens).astype(jnp.int32)

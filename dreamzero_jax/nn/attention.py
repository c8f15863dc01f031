"""Scaled dot-product attention on ``jax.nn.dot_product_attention`` in the (B, T, N, H) layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.nn.norms import RMSNorm


def attention(q: jax.Array, k: jax.Array, v: jax.Array, mask: jax.Array | None = None) -> jax.Array:
    """softmax(q k^T / sqrt(H)) v for q [B,T,N,H], k/v [B,S,N,H].

    ``mask`` (bool, True = may attend) broadcasts against [B, N, T, S]; a [T, S] or [S] mask is fine.
    """
    if mask is not None:
        mask = jnp.asarray(mask, bool)
        mask = mask.reshape((1,) * (4 - mask.ndim) + mask.shape)
    # mixed-precision callers (bf16 context, float32 residual stream) compute in the query's dtype
    return jax.nn.dot_product_attention(q, k.astype(q.dtype), v.astype(q.dtype), mask=mask)


def split_heads(x: jax.Array, num_heads: int) -> jax.Array:
    """[B, T, N*H] -> [B, T, N, H]."""
    return x.reshape(*x.shape[:-1], num_heads, x.shape[-1] // num_heads)


def merge_heads(x: jax.Array) -> jax.Array:
    """[B, T, N, H] -> [B, T, N*H]."""
    return x.reshape(*x.shape[:-2], x.shape[-2] * x.shape[-1])


def maybe_norm(norm: nnx.Module | None, x: jax.Array) -> jax.Array:
    """Apply ``norm`` when present (Wan replaces disabled norms with identities)."""
    return x if norm is None else norm(x)


class MultiHeadAttention(nnx.Module):
    """q/k/v/o projections with QK-RMSNorm (Wan's ``WanSelfAttention`` parameters), no positional code.

    ``project_qkv`` / ``project_out`` are exposed so that callers can insert RoPE and KV caches between.
    """

    def __init__(
        self, dim: int, num_heads: int, *, qk_norm: bool, eps: float, rngs: nnx.Rngs, param_dtype=jnp.float32
    ):
        self.num_heads = num_heads
        lin = dict(rngs=rngs, param_dtype=param_dtype)
        self.q = nnx.Linear(dim, dim, **lin)
        self.k = nnx.Linear(dim, dim, **lin)
        self.v = nnx.Linear(dim, dim, **lin)
        self.o = nnx.Linear(dim, dim, **lin)
        # Wan normalises q/k over the full projected width, before splitting heads
        self.norm_q = RMSNorm(dim, eps, param_dtype=param_dtype) if qk_norm else None
        self.norm_k = RMSNorm(dim, eps, param_dtype=param_dtype) if qk_norm else None

    def project_q(self, x: jax.Array) -> jax.Array:
        return split_heads(maybe_norm(self.norm_q, self.q(x)), self.num_heads)

    def project_kv(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        k = split_heads(maybe_norm(self.norm_k, self.k(x)), self.num_heads)
        return k, split_heads(self.v(x), self.num_heads)

    def project_out(self, y: jax.Array) -> jax.Array:
        return self.o(merge_heads(y))

    def __call__(self, x: jax.Array, context: jax.Array | None = None, mask: jax.Array | None = None):
        """Plain (cross-)attention: queries from ``x``, keys/values from ``context`` (default ``x``)."""
        k, v = self.project_kv(x if context is None else context)
        return self.project_out(attention(self.project_q(x), k, v, mask))

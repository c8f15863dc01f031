"""One DiT layer (self-attention, I2V cross-attention, FFN, 6-way AdaLN) and the output head."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.models.dit_attention import I2VCrossAttention
from dreamzero_jax.nn.attention import MultiHeadAttention, maybe_norm
from dreamzero_jax.nn.mlp import MLP
from dreamzero_jax.nn.modulation import modulate, modulation_terms
from dreamzero_jax.nn.norms import LayerNorm

# (attention module, modulated normed input) -> (output, anything the caller wants back, e.g. a cache)
SelfAttend = Callable[[MultiHeadAttention, jax.Array], tuple[jax.Array, Any]]


class DiTBlock(nnx.Module):
    """Wan attention block; how self-attention attends (mask or KV cache) is passed in by the caller."""

    def __init__(self, cfg: DiTConfig, *, rngs: nnx.Rngs, param_dtype=jnp.float32):
        kw = dict(rngs=rngs, param_dtype=param_dtype)
        self.norm1 = LayerNorm(cfg.dim, cfg.eps)
        self.self_attn = MultiHeadAttention(cfg.dim, cfg.num_heads, qk_norm=cfg.qk_norm, eps=cfg.eps, **kw)
        self.norm3 = (
            LayerNorm(cfg.dim, cfg.eps, affine=True, param_dtype=param_dtype) if cfg.cross_attn_norm else None
        )
        self.cross_attn = I2VCrossAttention(cfg.dim, cfg.num_heads, qk_norm=cfg.qk_norm, eps=cfg.eps, **kw)
        self.norm2 = LayerNorm(cfg.dim, cfg.eps)
        self.ffn = MLP(cfg.dim, cfg.ffn_dim, cfg.dim, "gelu_tanh", **kw)
        self.modulation = nnx.Param(
            jax.random.normal(rngs.params(), (1, 6, cfg.dim), param_dtype) / math.sqrt(cfg.dim)
        )

    def __call__(
        self, x: jax.Array, e: jax.Array, context: jax.Array, self_attend: SelfAttend
    ) -> tuple[jax.Array, Any]:
        """x [B, T, D]; e [B, T, 6, D] per-token time projection; context [B, 257 + text_len, D]."""
        shift1, scale1, gate1, shift2, scale2, gate2 = modulation_terms(self.modulation[...], e)
        y, aux = self_attend(self.self_attn, modulate(self.norm1(x), shift1, scale1))
        x = x + y * gate1
        x = x + self.cross_attn(maybe_norm(self.norm3, x), context)
        x = x + self.ffn(modulate(self.norm2(x), shift2, scale2)) * gate2
        return x, aux


class DiTHead(nnx.Module):
    """Output head: AdaLN(shift, scale) from the per-token time embedding, then a linear to patches."""

    def __init__(self, cfg: DiTConfig, *, rngs: nnx.Rngs, param_dtype=jnp.float32):
        self.norm = LayerNorm(cfg.dim, cfg.eps)
        self.head = nnx.Linear(cfg.dim, cfg.patch_dim_out, rngs=rngs, param_dtype=param_dtype)
        self.modulation = nnx.Param(
            jax.random.normal(rngs.params(), (1, 2, cfg.dim), param_dtype) / math.sqrt(cfg.dim)
        )

    def __call__(self, x: jax.Array, e: jax.Array) -> jax.Array:
        """x [B, T, D]; e [B, T, D] time embedding (before the 6-way projection)."""
        shift, scale = modulation_terms(self.modulation[...], e[:, :, None])
        return self.head(modulate(self.norm(x), shift, scale))

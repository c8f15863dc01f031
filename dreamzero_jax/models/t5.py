"""umT5 encoder (upstream `WanTextEncoder`): the text tower that turns an instruction into DiT context.

T5 conventions kept from upstream: RMS norm without mean subtraction or bias, no 1/sqrt(d) scaling of the
attention logits, gated-GELU (tanh approximation) feed-forward, and a learned relative-position bias added
to the logits. umT5 gives every layer its own bias table (`shared_pos=False`), unlike T5 v1.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.t5 import T5Config


def relative_position_bucket(rel: jnp.ndarray, num_buckets: int = 32, max_distance: int = 128) -> jnp.ndarray:
    """Bidirectional T5 bucket of the relative position ``rel = key_pos - query_pos`` (int array, any shape).

    Half the buckets are for ``rel > 0`` (offset ``num_buckets // 2``), half for ``rel <= 0``. Within a
    direction, distances below ``num_buckets // 4`` get their own bucket; larger ones share buckets on a log
    scale up to ``max_distance``, and everything beyond lands in the last bucket.
    """
    half = num_buckets // 2
    max_exact = half // 2
    offset = jnp.where(rel > 0, half, 0).astype(jnp.int32)
    dist = jnp.abs(rel).astype(jnp.int32)
    # float32 log and truncation toward zero, in upstream's operation order (float64 gives the same buckets).
    scaled = jnp.log(jnp.maximum(dist, 1).astype(jnp.float32) / max_exact)
    scaled = scaled / math.log(max_distance / max_exact) * (half - max_exact)
    large = jnp.minimum(max_exact + scaled.astype(jnp.int32), half - 1)
    return offset + jnp.where(dist < max_exact, dist, large)


def bucket_matrix(lq: int, lk: int, num_buckets: int = 32, max_distance: int = 128) -> jnp.ndarray:
    """Buckets ``[lq, lk]`` of every (query, key) pair."""
    rel = jnp.arange(lk, dtype=jnp.int32)[None, :] - jnp.arange(lq, dtype=jnp.int32)[:, None]
    return relative_position_bucket(rel, num_buckets, max_distance)


def gelu_tanh(x: jnp.ndarray) -> jnp.ndarray:
    """GELU with the tanh approximation, written out as upstream's `GELU` module does."""
    return 0.5 * x * (1.0 + jnp.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


class T5Norm(nnx.Module):
    """``x * rsqrt(mean(x^2) + eps) * weight`` (no mean subtraction, no bias)."""

    def __init__(self, dim: int, eps: float, *, param_dtype=jnp.float32):
        self.eps = eps
        self.weight = nnx.Param(jnp.ones((dim,), param_dtype))

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        xf = x.astype(jnp.float32)
        y = xf * jax.lax.rsqrt(jnp.mean(xf * xf, axis=-1, keepdims=True) + self.eps)
        return self.weight[...] * y.astype(x.dtype)


class T5RelativeBias(nnx.Module):
    """One layer's learned relative-position bias: a ``[num_buckets, heads]`` table looked up by bucket."""

    def __init__(self, cfg: T5Config, *, rngs: nnx.Rngs):
        self.num_buckets = cfg.num_buckets
        self.max_distance = cfg.max_distance
        self.embedding = nnx.Embed(
            cfg.num_buckets,
            cfg.num_heads,
            embedding_init=nnx.initializers.normal((2 * cfg.num_buckets * cfg.num_heads) ** -0.5),
            param_dtype=cfg.param_dtype,
            rngs=rngs,
        )

    def __call__(self, lq: int, lk: int) -> jnp.ndarray:
        """Bias ``[heads, lq, lk]``."""
        buckets = bucket_matrix(lq, lk, self.num_buckets, self.max_distance)
        return jnp.transpose(self.embedding(buckets), (2, 0, 1))


def _linear(din: int, dout: int, cfg: T5Config, rngs: nnx.Rngs) -> nnx.Linear:
    return nnx.Linear(
        din,
        dout,
        use_bias=False,
        kernel_init=nnx.initializers.normal(din**-0.5),
        dtype=cfg.dtype,
        param_dtype=cfg.param_dtype,
        rngs=rngs,
    )


class T5Attention(nnx.Module):
    """Multi-head self-attention with an additive bias and T5's unscaled logits."""

    def __init__(self, cfg: T5Config, *, rngs: nnx.Rngs):
        self.num_heads = cfg.num_heads
        self.q = _linear(cfg.dim, cfg.dim_attn, cfg, rngs)
        self.k = _linear(cfg.dim, cfg.dim_attn, cfg, rngs)
        self.v = _linear(cfg.dim, cfg.dim_attn, cfg, rngs)
        self.o = _linear(cfg.dim_attn, cfg.dim, cfg, rngs)

    def __call__(self, x: jnp.ndarray, bias: jnp.ndarray) -> jnp.ndarray:
        """``x`` [B, L, dim]; ``bias`` [B or 1, heads, L, L] already holding the key mask."""
        b, n, h = x.shape[0], x.shape[1], self.num_heads
        q = self.q(x).reshape(b, n, h, -1)
        k = self.k(x).reshape(b, n, h, -1)
        v = self.v(x).reshape(b, n, h, -1)
        # T5 does not scale the logits by 1/sqrt(head_dim).
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) + bias.astype(q.dtype)
        weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(v.dtype)
        out = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, n, -1)
        return self.o(out)


class T5FeedForward(nnx.Module):
    """``fc2(fc1(x) * gelu_tanh(gate(x)))``."""

    def __init__(self, cfg: T5Config, *, rngs: nnx.Rngs):
        self.gate = _linear(cfg.dim, cfg.dim_ffn, cfg, rngs)
        self.fc1 = _linear(cfg.dim, cfg.dim_ffn, cfg, rngs)
        self.fc2 = _linear(cfg.dim_ffn, cfg.dim, cfg, rngs)

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        return self.fc2(self.fc1(x) * gelu_tanh(self.gate(x)))


class T5Block(nnx.Module):
    """Pre-norm residual attention + feed-forward, with this layer's own position bias."""

    def __init__(self, cfg: T5Config, *, rngs: nnx.Rngs):
        self.norm1 = T5Norm(cfg.dim, cfg.norm_eps, param_dtype=cfg.param_dtype)
        self.attn = T5Attention(cfg, rngs=rngs)
        self.norm2 = T5Norm(cfg.dim, cfg.norm_eps, param_dtype=cfg.param_dtype)
        self.ffn = T5FeedForward(cfg, rngs=rngs)
        self.pos_embedding = T5RelativeBias(cfg, rngs=rngs)

    def __call__(self, x: jnp.ndarray, key_mask: jnp.ndarray) -> jnp.ndarray:
        n = x.shape[1]
        pos_bias = self.pos_embedding(n, n)[None]  # [1, heads, L, L]
        # Masked keys get float32 min added to their logit (upstream masked_fill_), i.e. weight 0.
        bias = jnp.where(key_mask[:, None, None, :], pos_bias, jnp.finfo(jnp.float32).min)
        x = x + self.attn(self.norm1(x), bias)
        return x + self.ffn(self.norm2(x))


class UMT5Encoder(nnx.Module):
    """Token ids [B, L] + attention mask [B, L] -> hidden states [B, L, dim] (padded positions included)."""

    def __init__(self, config: T5Config, *, rngs: nnx.Rngs):
        self.config = config
        self.token_embedding = nnx.Embed(
            config.vocab,
            config.dim,
            embedding_init=nnx.initializers.normal(1.0),
            param_dtype=config.param_dtype,
            rngs=rngs,
        )
        self.blocks = nnx.List([T5Block(config, rngs=rngs) for _ in range(config.num_layers)])
        self.norm = T5Norm(config.dim, config.norm_eps, param_dtype=config.param_dtype)

    def __call__(self, ids: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
        x = self.token_embedding(ids).astype(self.config.dtype)
        key_mask = mask > 0
        # A Python loop over layers (not tokens): each layer has its own weights and bias table.
        for block in self.blocks:
            x = block(x, key_mask)
        return self.norm(x)

    def position_biases(self, length: int) -> list[jnp.ndarray]:
        """Every layer's position bias ``[heads, length, length]`` (for inspection and parity)."""
        return [block.pos_embedding(length, length) for block in self.blocks]

"""DiT attention: block-causal / cached self-attention with RoPE, and the I2V cross-attention."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.dit import CLIP_TOKENS
from dreamzero_jax.models.dit_cache import window_append
from dreamzero_jax.nn.attention import MultiHeadAttention, attention, maybe_norm, split_heads
from dreamzero_jax.nn.norms import RMSNorm
from dreamzero_jax.nn.rope import apply_rope


def self_attention_masked(
    attn: MultiHeadAttention, x: jax.Array, cos: jax.Array, sin: jax.Array, mask: jax.Array
) -> jax.Array:
    """Self-attention over the whole sequence with RoPE on q/k and a boolean [T, T] mask."""
    q = apply_rope(attn.project_q(x), cos, sin)
    k, v = attn.project_kv(x)
    return attn.project_out(attention(q, apply_rope(k, cos, sin), v, mask))


def self_attention_cached(
    attn: MultiHeadAttention,
    x: jax.Array,
    cos: jax.Array,
    sin: jax.Array,
    num_video: int,
    cache_k: jax.Array,
    cache_v: jax.Array,
    length: jax.Array,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """One cached call: x = [new video (num_video) | action/state tokens], all of them queries.

    Keys/values are [cache window + new video | action/state] with no mask beyond cache validity
    (upstream: action and state tokens see everything in inference). Returns the output and this
    layer's next cache (the last ``max_tokens`` video keys/values).
    """
    q = apply_rope(attn.project_q(x), cos, sin)
    k, v = attn.project_kv(x)
    k = apply_rope(k, cos, sin)
    full_k, valid, kept_k = window_append(cache_k, length, k[:, :num_video])
    full_v, _, kept_v = window_append(cache_v, length, v[:, :num_video])
    keys = jnp.concatenate([full_k, k[:, num_video:].astype(full_k.dtype)], axis=1)
    values = jnp.concatenate([full_v, v[:, num_video:].astype(full_v.dtype)], axis=1)
    mask = jnp.concatenate([valid, jnp.ones((x.shape[1] - num_video,), bool)])
    y = attention(q, keys.astype(q.dtype), values.astype(q.dtype), mask)
    return attn.project_out(y), kept_k, kept_v


class I2VCrossAttention(MultiHeadAttention):
    """Wan's I2V cross-attention: text and CLIP-image context attended separately, outputs summed.

    ``context`` = [CLIP image tokens (257) | text tokens]; no masks (upstream passes no lengths).
    """

    def __init__(
        self, dim: int, num_heads: int, *, qk_norm: bool, eps: float, rngs: nnx.Rngs, param_dtype=jnp.float32
    ):
        super().__init__(dim, num_heads, qk_norm=qk_norm, eps=eps, rngs=rngs, param_dtype=param_dtype)
        self.k_img = nnx.Linear(dim, dim, rngs=rngs, param_dtype=param_dtype)
        self.v_img = nnx.Linear(dim, dim, rngs=rngs, param_dtype=param_dtype)
        self.norm_k_img = RMSNorm(dim, eps, param_dtype=param_dtype) if qk_norm else None

    def __call__(self, x: jax.Array, context: jax.Array, mask=None) -> jax.Array:
        img, text = context[:, :CLIP_TOKENS], context[:, CLIP_TOKENS:]
        q = self.project_q(x)
        k, v = self.project_kv(text)
        k_img = split_heads(maybe_norm(self.norm_k_img, self.k_img(img)), self.num_heads)
        v_img = split_heads(self.v_img(img), self.num_heads)
        y = attention(q, k, v) + attention(q, k_img, v_img)
        return self.project_out(y)

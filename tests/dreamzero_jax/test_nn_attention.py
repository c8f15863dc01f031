"""Attention against a direct softmax formula, masks, and the projection module."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.nn.attention import MultiHeadAttention, attention


def _reference(q, k, v, mask=None):
    s = np.einsum("btnh,bsnh->bnts", q, k) / np.sqrt(q.shape[-1])
    if mask is not None:
        s = np.where(mask, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum("bnts,bsnh->btnh", p, v)


def test_attention_matches_formula_with_and_without_mask():
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(2, 5, 3, 8)).astype(np.float32) for _ in range(3))
    np.testing.assert_allclose(attention(q, k, v), _reference(q, k, v), atol=1e-5)
    mask = np.tril(np.ones((5, 5), bool))
    np.testing.assert_allclose(attention(q, k, v, mask), _reference(q, k, v, mask), atol=1e-5)
    # a masked-out key has no influence
    k2 = k.copy()
    k2[:, 4] += 10
    np.testing.assert_allclose(attention(q, k2, v, mask)[:, :4], attention(q, k, v, mask)[:, :4], atol=1e-6)


def test_multihead_attention_shapes_and_qk_norm():
    mha = MultiHeadAttention(16, 4, qk_norm=True, eps=1e-6, rngs=nnx.Rngs(0))
    x = jax.random.normal(jax.random.key(0), (2, 7, 16))
    ctx = jax.random.normal(jax.random.key(1), (2, 3, 16))
    assert mha(x).shape == (2, 7, 16) and mha(x, ctx).shape == (2, 7, 16)
    q = mha.project_q(x)
    assert q.shape == (2, 7, 4, 4)
    # RMSNorm is over the full width (before the head split): the mean square over all heads is 1
    np.testing.assert_allclose(jnp.mean(jnp.square(q.reshape(2, 7, 16)), -1), 1.0, rtol=1e-4)
    assert MultiHeadAttention(16, 4, qk_norm=False, eps=1e-6, rngs=nnx.Rngs(0)).norm_q is None

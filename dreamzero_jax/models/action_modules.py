"""DreamZero's multi-embodiment action/state modules (upstream ``CategorySpecificLinear`` and friends).

Every weight carries a leading category axis [categories, ...] and is gathered per sample. Upstream
builds exactly one category and always passes category 0 (see ``configs.dit.BUILT_CATEGORIES``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.nn.embeddings import action_time_sinusoid


class CategorySpecificLinear(nnx.Module):
    """``x @ W[cat] + b[cat]`` for x [B, T, in]; ``W`` is [categories, in, out], ``b`` [categories, out]."""

    def __init__(
        self, num_categories: int, in_dim: int, out_dim: int, *, rngs: nnx.Rngs, param_dtype=jnp.float32
    ):
        init = nnx.initializers.variance_scaling(1.0, "fan_in", "normal", in_axis=-2, out_axis=-1)
        self.W = nnx.Param(init(rngs.params(), (num_categories, in_dim, out_dim), param_dtype))
        self.b = nnx.Param(jnp.zeros((num_categories, out_dim), param_dtype))

    def __call__(self, x: jax.Array, cat_ids: jax.Array) -> jax.Array:
        w = jnp.take(self.W[...], cat_ids, axis=0)  # [B, in, out]
        b = jnp.take(self.b[...], cat_ids, axis=0)  # [B, out]
        return jnp.einsum("bti,bio->bto", x, w) + b[:, None, :]


class CategorySpecificMLP(nnx.Module):
    """``layer2(relu(layer1(x)))`` with category-specific layers (state encoder, action decoder)."""

    def __init__(
        self,
        num_categories: int,
        in_dim: int,
        hidden_dim: int,
        out_dim: int,
        *,
        rngs: nnx.Rngs,
        param_dtype=jnp.float32,
    ):
        self.layer1 = CategorySpecificLinear(
            num_categories, in_dim, hidden_dim, rngs=rngs, param_dtype=param_dtype
        )
        self.layer2 = CategorySpecificLinear(
            num_categories, hidden_dim, out_dim, rngs=rngs, param_dtype=param_dtype
        )

    def __call__(self, x: jax.Array, cat_ids: jax.Array) -> jax.Array:
        return self.layer2(jax.nn.relu(self.layer1(x, cat_ids)), cat_ids)


class MultiEmbodimentActionEncoder(nnx.Module):
    """Noisy actions + their flow timestep -> tokens: W3(swish(W2([W1 a, sinusoid(t)]))).

    actions [B, T, action_dim], timesteps [B, T], cat_ids [B] -> [B, T, hidden].
    """

    def __init__(
        self, num_categories: int, action_dim: int, hidden: int, *, rngs: nnx.Rngs, param_dtype=jnp.float32
    ):
        self.hidden = hidden
        kw = dict(rngs=rngs, param_dtype=param_dtype)
        self.W1 = CategorySpecificLinear(num_categories, action_dim, hidden, **kw)
        self.W2 = CategorySpecificLinear(num_categories, 2 * hidden, hidden, **kw)
        self.W3 = CategorySpecificLinear(num_categories, hidden, hidden, **kw)

    def __call__(self, actions: jax.Array, timesteps: jax.Array, cat_ids: jax.Array) -> jax.Array:
        a = self.W1(actions, cat_ids)
        tau = action_time_sinusoid(timesteps, self.hidden).astype(a.dtype)
        x = jax.nn.silu(self.W2(jnp.concatenate([a, tau], axis=-1), cat_ids))  # swish
        return self.W3(x, cat_ids)

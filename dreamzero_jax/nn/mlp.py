"""Two-layer MLPs (Wan's FFN, text and time embeddings) with a named activation."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from flax import nnx

ACTIVATIONS = {
    "gelu_tanh": functools.partial(jax.nn.gelu, approximate=True),
    "gelu": functools.partial(jax.nn.gelu, approximate=False),
    "silu": jax.nn.silu,
    "relu": jax.nn.relu,
}


class MLP(nnx.Module):
    """``fc2(act(fc1(x)))``: torch's ``Sequential(Linear, Act, Linear)`` with entries 0 and 2."""

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int,
        out_dim: int,
        activation: str,
        *,
        rngs: nnx.Rngs,
        param_dtype=jnp.float32,
    ):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {sorted(ACTIVATIONS)}")
        self.activation = activation
        self.fc1 = nnx.Linear(in_dim, hidden_dim, rngs=rngs, param_dtype=param_dtype)
        self.fc2 = nnx.Linear(hidden_dim, out_dim, rngs=rngs, param_dtype=param_dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.fc2(ACTIVATIONS[self.activation](self.fc1(x)))

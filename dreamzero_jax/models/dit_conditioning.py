"""Conditioning encoders of the DiT that are not plain MLPs: the CLIP-image projection."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.nn.norms import LayerNorm


class ImageProjection(nnx.Module):
    """Wan's ``MLPProj``: LayerNorm, Linear, GELU (exact), Linear, LayerNorm over CLIP tokens.

    Its LayerNorms are plain ``torch.nn.LayerNorm`` (affine, eps 1e-5), unlike the DiT's eps-1e-6 ones.
    """

    def __init__(self, in_dim: int, out_dim: int, *, rngs: nnx.Rngs, param_dtype=jnp.float32):
        self.norm_in = LayerNorm(in_dim, 1e-5, affine=True, param_dtype=param_dtype)
        self.fc1 = nnx.Linear(in_dim, in_dim, rngs=rngs, param_dtype=param_dtype)
        self.fc2 = nnx.Linear(in_dim, out_dim, rngs=rngs, param_dtype=param_dtype)
        self.norm_out = LayerNorm(out_dim, 1e-5, affine=True, param_dtype=param_dtype)

    def __call__(self, x: jax.Array) -> jax.Array:
        h = jax.nn.gelu(self.fc1(self.norm_in(x)), approximate=False)
        return self.norm_out(self.fc2(h))

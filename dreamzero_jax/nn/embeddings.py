"""Sinusoidal embeddings (timesteps) and the 3-D patch embedding of channels-last video."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx


def timestep_sinusoid(t: jax.Array, dim: int) -> jax.Array:
    """Wan's ``sinusoidal_embedding_1d``: [..., dim] = [cos(t w_i), sin(t w_i)], w_i = 10000^(-i/(dim/2)).

    Upstream computes this in float64; float32 here (differences of order 1e-5 in the outputs).
    """
    half = dim // 2
    freqs = jnp.asarray(np.power(10000.0, -np.arange(half, dtype=np.float64) / half), jnp.float32)
    ang = jnp.asarray(t, jnp.float32)[..., None] * freqs
    return jnp.concatenate([jnp.cos(ang), jnp.sin(ang)], axis=-1)


def action_time_sinusoid(t: jax.Array, dim: int) -> jax.Array:
    """GR00T's ``SinusoidalPositionalEncoding``: [..., dim] = [sin, cos] (note: sin first, unlike Wan).

    The frequencies are formed in float32 exactly as upstream does (exp of a float32 exponent).
    """
    half = dim // 2
    exponent = -jnp.arange(half, dtype=jnp.float32) * (jnp.log(jnp.float32(10000.0)) / half)
    ang = jnp.asarray(t, jnp.float32)[..., None] * jnp.exp(exponent)
    return jnp.concatenate([jnp.sin(ang), jnp.cos(ang)], axis=-1)


class PatchEmbed3D(nnx.Module):
    """Non-overlapping 3-D patches (a Conv3d with kernel = stride = ``patch``) of [B, F, H, W, C] video.

    Returns tokens [B, F/pt * H/ph * W/pw, dim] in frame-major, row, column order, plus the token grid.
    ``kernel`` is [pt, ph, pw, C, dim] (channels-last conv layout).
    """

    def __init__(
        self, in_dim: int, dim: int, patch: tuple[int, int, int], *, rngs: nnx.Rngs, param_dtype=jnp.float32
    ):
        self.patch = tuple(patch)
        init = nnx.initializers.variance_scaling(1.0, "fan_in", "uniform")
        self.kernel = nnx.Param(init(rngs.params(), (*patch, in_dim, dim), param_dtype))
        self.bias = nnx.Param(jnp.zeros((dim,), param_dtype))

    def grid(self, video_shape: tuple[int, ...]) -> tuple[int, int, int]:
        _, f, h, w, _ = video_shape
        pt, ph, pw = self.patch
        return f // pt, h // ph, w // pw

    def __call__(self, x: jax.Array) -> jax.Array:
        b, _, _, _, c = x.shape
        (gf, gh, gw), (pt, ph, pw) = self.grid(x.shape), self.patch
        x = x.reshape(b, gf, pt, gh, ph, gw, pw, c)
        x = x.transpose(0, 1, 3, 5, 2, 4, 6, 7).reshape(b, gf * gh * gw, pt * ph * pw * c)
        kernel = self.kernel[...].reshape(pt * ph * pw * c, -1)
        return x @ kernel + self.bias[...]


def unpatchify(tokens: jax.Array, grid: tuple[int, int, int], patch: tuple[int, int, int]) -> jax.Array:
    """Inverse of the patching for head outputs: [B, f*h*w, pt*ph*pw*C] -> [B, f*pt, h*ph, w*pw, C].

    Within a token the output channels are ordered (pt, ph, pw, C), C fastest, as in Wan's unpatchify.
    """
    b, (f, h, w), (pt, ph, pw) = tokens.shape[0], grid, patch
    x = tokens.reshape(b, f, h, w, pt, ph, pw, -1)
    return x.transpose(0, 1, 4, 2, 5, 3, 6, 7).reshape(b, f * pt, h * ph, w * pw, -1)

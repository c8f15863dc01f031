"""Spatial (x2) and spatio-temporal (x2 x2) down/up-sampling of the Wan2.1 VAE (upstream ``Resample``).

All are called ``layer(x, cache) -> (y, new_cache)`` on channels-last video ``[B, T, H, W, C]``;
``cache=None`` marks the first chunk of a stream, whose temporal behaviour is special upstream.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.models.vae_blocks import CausalConv3d, conv2d, init_kernel


class _SpatialConv(nnx.Module):
    """The ``Conv2d`` of upstream ``resample.1``, applied to every frame (kernel ``[3, 3, I, O]``)."""

    def __init__(self, in_dim: int, out_dim: int, *, rngs: nnx.Rngs):
        self.kernel = init_kernel(rngs, (3, 3, in_dim, out_dim))
        self.bias = nnx.Param(jnp.zeros((out_dim,), jnp.float32))

    def __call__(self, x: jax.Array, stride: int, padding) -> jax.Array:
        b, t = x.shape[:2]
        y = conv2d(x.reshape(b * t, *x.shape[2:]), self.kernel[...], self.bias[...], stride, padding)
        return y.reshape(b, t, *y.shape[1:])


class Downsample2d(nnx.Module):
    """``ZeroPad2d((0, 1, 0, 1))`` (right and bottom only) then a stride-2 3x3 conv, frame by frame."""

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.spatial_conv = _SpatialConv(dim, dim, rngs=rngs)

    def __call__(self, x: jax.Array, cache: None) -> tuple[jax.Array, None]:
        return self.spatial_conv(x, 2, ((0, 1), (0, 1))), None


class Downsample3d(nnx.Module):
    """``Downsample2d`` followed by a temporal conv (kernel 3, stride 2, no padding) across chunks.

    Upstream skips the temporal conv in the first chunk (its single frame passes through unchanged, no
    bias added) and keeps that frame; each later chunk of ``2n`` frames runs the conv over
    ``[last frame of the previous chunk, chunk]`` and yields ``n`` frames. The cache is that one frame.
    """

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.spatial_conv = _SpatialConv(dim, dim, rngs=rngs)
        self.time_conv = CausalConv3d(dim, dim, (3, 1, 1), rngs=rngs)

    def __call__(self, x: jax.Array, cache: jax.Array | None) -> tuple[jax.Array, jax.Array]:
        x = self.spatial_conv(x, 2, ((0, 1), (0, 1)))
        last = x[:, -1:]
        if cache is None:
            return x, last
        return self.time_conv.valid(jnp.concatenate([cache, x], axis=1), time_stride=2), last


class Upsample2d(nnx.Module):
    """Nearest x2 (``nearest-exact`` equals plain repetition at an integer factor) then a 3x3 conv to C/2."""

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.spatial_conv = _SpatialConv(dim, dim // 2, rngs=rngs)

    def __call__(self, x: jax.Array, cache: None) -> tuple[jax.Array, None]:
        return _upsample_spatial(self.spatial_conv, x), None


class Upsample3d(nnx.Module):
    """A causal temporal conv to ``2C`` channels read as 2 frames each, then ``Upsample2d``.

    Upstream marks the first chunk ``'Rep'`` and skips the temporal conv (1 frame in, 1 out). The second
    chunk runs it with plain zero padding, *not* with the first chunk's frame, so the history after the
    first chunk is zeros; from then on it is an ordinary causal conv with a 2-frame cache.
    """

    def __init__(self, dim: int, *, rngs: nnx.Rngs):
        self.time_conv = CausalConv3d(dim, 2 * dim, (3, 1, 1), rngs=rngs)
        self.spatial_conv = _SpatialConv(dim, dim // 2, rngs=rngs)

    def __call__(self, x: jax.Array, cache: jax.Array | None) -> tuple[jax.Array, jax.Array]:
        if cache is None:
            cache = self.time_conv.init_cache(x)  # the 'Rep' state: the first frame is not remembered
        else:
            x, cache = self.time_conv(x, cache)
            b, t, h, w, c2 = x.shape
            # output channels [0, C) are frame 2t and [C, 2C) frame 2t+1 (upstream reshape(b, 2, c, ...) + stack)
            x = x.reshape(b, t, h, w, 2, c2 // 2).transpose(0, 1, 4, 2, 3, 5).reshape(b, 2 * t, h, w, c2 // 2)
        return _upsample_spatial(self.spatial_conv, x), cache


def _upsample_spatial(conv: _SpatialConv, x: jax.Array) -> jax.Array:
    x = jnp.repeat(jnp.repeat(x, 2, axis=2), 2, axis=3)
    return conv(x, 1, ((1, 1), (1, 1)))


RESAMPLERS: dict[str, Callable[..., nnx.Module]] = {
    "downsample2d": Downsample2d,
    "downsample3d": Downsample3d,
    "upsample2d": Upsample2d,
    "upsample3d": Upsample3d,
}

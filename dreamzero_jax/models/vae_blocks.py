"""Building blocks of the Wan2.1 video VAE: causal 3D conv, RMS norm, residual and attention blocks.

Video is channels-last ``[B, T, H, W, C]``. Every block is called as ``block(x, cache) -> (y, new_cache)``
so encoder/decoder stages compose as plain lists. ``cache`` is the block's own slice of the streaming
state (see ``dreamzero_jax.models.vae``); ``None`` means "first chunk of a stream".
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx

# Float32 parity with the PyTorch reference needs full-precision matmuls on accelerators (no TF32/bf16 passes).
PRECISION = jax.lax.Precision.HIGHEST

CACHE_T = 2  # frames a temporal-kernel-3 conv keeps from the previous chunk (upstream CACHE_T)


def init_kernel(rngs: nnx.Rngs, shape: tuple[int, ...]) -> nnx.Param:
    return nnx.Param(nnx.initializers.lecun_normal()(rngs.params(), shape, jnp.float32))


def conv2d(x: jax.Array, kernel: jax.Array, bias: jax.Array, stride: int = 1, padding="SAME") -> jax.Array:
    """Per-image 2D convolution of ``[N, H, W, I]`` with a ``[kh, kw, I, O]`` kernel."""
    y = jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), padding, dimension_numbers=("NHWC", "HWIO", "NHWC"), precision=PRECISION
    )
    return y + bias


def rms_normalize(x: jax.Array, gamma: jax.Array, eps: float) -> jax.Array:
    """Upstream ``RMS_norm``: ``F.normalize(x, dim=channels) * sqrt(C) * gamma`` (L2, not mean-square)."""
    norm = jnp.sqrt(jnp.sum(jnp.square(x), axis=-1, keepdims=True))
    return x / jnp.maximum(norm, eps) * math.sqrt(x.shape[-1]) * gamma


class RMSNorm(nnx.Module):
    """Channel L2 normalisation with a learnt per-channel ``gamma`` (upstream ``RMS_norm``, no bias)."""

    def __init__(self, dim: int, eps: float = 1e-12):
        self.gamma = nnx.Param(jnp.ones((dim,), jnp.float32))
        self.eps = eps

    def __call__(self, x: jax.Array) -> jax.Array:
        return rms_normalize(x, self.gamma[...], self.eps)


class CausalConv3d(nnx.Module):
    """3D conv over ``[B, T, H, W, C]`` that sees only current and past frames.

    Upstream pads ``2 * pad_t`` frames in front and none behind. Here the front padding is the cache:
    ``kt - 1`` frames of the previous chunk's input (zeros at the start of a stream), so a clip cut into
    chunks gives exactly the output of the whole clip. Spatial padding is symmetric zero padding.
    """

    def __init__(self, in_dim: int, out_dim: int, kernel: tuple[int, int, int], *, rngs: nnx.Rngs):
        kt, kh, kw = kernel
        self.kernel = init_kernel(rngs, (kt, kh, kw, in_dim, out_dim))
        self.bias = nnx.Param(jnp.zeros((out_dim,), jnp.float32))
        self.cache_frames = kt - 1
        self.spatial_pad = ((kh // 2, kh // 2), (kw // 2, kw // 2))

    def init_cache(self, x: jax.Array) -> jax.Array:
        """Zero history for a stream whose first chunk is ``x`` (equals upstream's front zero padding)."""
        b, _, h, w, c = x.shape
        return jnp.zeros((b, self.cache_frames, h, w, c), x.dtype)

    def __call__(self, x: jax.Array, cache: jax.Array | None) -> tuple[jax.Array, jax.Array]:
        history = jnp.concatenate([self.init_cache(x) if cache is None else cache, x], axis=1)
        return self.valid(history), history[:, history.shape[1] - self.cache_frames :]

    def valid(self, x: jax.Array, time_stride: int = 1) -> jax.Array:
        """The bare conv: no temporal padding or history (what upstream's stride-2 ``time_conv`` runs).

        Computed as ONE 2D conv over the frames whose channels hold the ``kt`` time taps side by side: the
        same sum as a 3D conv, but XLA's CPU backend runs 3D convolutions 4-12x slower than 2D ones of the
        same FLOPs (measured on the small config's shapes), and on accelerators a 2D conv is as fast.
        """
        kernel = self.kernel[...]
        kt, kh, kw, c_in, c_out = kernel.shape
        b, t = x.shape[:2]
        frames = (t - kt) // time_stride + 1
        taps = [
            jax.lax.slice_in_dim(x, i, i + time_stride * (frames - 1) + 1, time_stride, axis=1)
            for i in range(kt)
        ]
        stacked = jnp.concatenate(taps, axis=-1).reshape(b * frames, *x.shape[2:4], kt * c_in)
        # [kt, kh, kw, I, O] -> [kh, kw, kt * I, O], tap-major to match the channel order above
        kernel = jnp.transpose(kernel, (1, 2, 0, 3, 4)).reshape(kh, kw, kt * c_in, c_out)
        y = conv2d(stacked, kernel, self.bias[...], padding=self.spatial_pad)
        return y.reshape(b, frames, *y.shape[1:])


class PointwiseConv3d(nnx.Module):
    """A kernel-1 ``CausalConv3d`` (shortcuts, latent projections): per-voxel linear map, no history."""

    def __init__(self, in_dim: int, out_dim: int, *, rngs: nnx.Rngs):
        self.kernel = init_kernel(rngs, (1, 1, 1, in_dim, out_dim))
        self.bias = nnx.Param(jnp.zeros((out_dim,), jnp.float32))

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.einsum("...i,io->...o", x, self.kernel[0, 0, 0], precision=PRECISION) + self.bias[...]


class ResidualBlock(nnx.Module):
    """``shortcut(x) + conv2(silu(norm2(conv1(silu(norm1(x))))))`` with causal 3x3x3 convs.

    Upstream ``residual`` Sequential indices: 0 = norm1, 2 = conv1, 3 = norm2, 6 = conv2 (dropout 0).
    """

    def __init__(self, in_dim: int, out_dim: int, eps: float = 1e-12, *, rngs: nnx.Rngs):
        self.norm1 = RMSNorm(in_dim, eps)
        self.conv1 = CausalConv3d(in_dim, out_dim, (3, 3, 3), rngs=rngs)
        self.norm2 = RMSNorm(out_dim, eps)
        self.conv2 = CausalConv3d(out_dim, out_dim, (3, 3, 3), rngs=rngs)
        self.shortcut = PointwiseConv3d(in_dim, out_dim, rngs=rngs) if in_dim != out_dim else None

    def __call__(self, x: jax.Array, cache: dict | None) -> tuple[jax.Array, dict]:
        c1, c2 = (None, None) if cache is None else (cache["conv1"], cache["conv2"])
        h = x if self.shortcut is None else self.shortcut(x)
        y, c1 = self.conv1(jax.nn.silu(self.norm1(x)), c1)
        y, c2 = self.conv2(jax.nn.silu(self.norm2(y)), c2)
        return y + h, {"conv1": c1, "conv2": c2}


class AttentionBlock(nnx.Module):
    """Single-head self-attention over the ``H*W`` positions of each frame separately, plus identity.

    Upstream uses 1x1 ``Conv2d`` for ``to_qkv``/``proj`` (kernels kept as ``[1, 1, I, O]``) and SDPA's
    default scale ``1/sqrt(C)``. Frames never attend to each other, so it needs no cache.
    """

    def __init__(self, dim: int, eps: float = 1e-12, *, rngs: nnx.Rngs):
        self.norm = RMSNorm(dim, eps)
        self.to_qkv = _Conv1x1(dim, 3 * dim, rngs=rngs)
        self.proj = _Conv1x1(dim, dim, rngs=rngs)

    def __call__(self, x: jax.Array, cache: None) -> tuple[jax.Array, None]:
        b, t, h, w, c = x.shape
        q, k, v = jnp.split(self.to_qkv(self.norm(x)).reshape(b * t, h * w, 3 * c), 3, axis=-1)
        logits = jnp.einsum("nqc,nkc->nqk", q, k, precision=PRECISION) / math.sqrt(c)
        out = jnp.einsum("nqk,nkc->nqc", jax.nn.softmax(logits, axis=-1), v, precision=PRECISION)
        return self.proj(out.reshape(b, t, h, w, c)) + x, None


class _Conv1x1(nnx.Module):
    """A 1x1 ``Conv2d`` applied to channels-last video; kernel stored ``[1, 1, I, O]`` like any conv2d."""

    def __init__(self, in_dim: int, out_dim: int, *, rngs: nnx.Rngs):
        self.kernel = init_kernel(rngs, (1, 1, in_dim, out_dim))
        self.bias = nnx.Param(jnp.zeros((out_dim,), jnp.float32))

    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.einsum("...i,io->...o", x, self.kernel[0, 0], precision=PRECISION) + self.bias[...]

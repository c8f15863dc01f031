"""PyTorch-exact bicubic resize (`F.interpolate(mode='bicubic', align_corners=False)`), as two matmuls.

PyTorch's kernel differs from `jax.image.resize`: cubic convolution with a = -0.75 (not -0.5), taps clamped
at the border, and no antialiasing even when shrinking. Because the sizes are static, the kernel is
built once in numpy as an [out, in] matrix per axis and applied with einsum under jit.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

CUBIC_A = -0.75  # PyTorch's coefficient; with -0.5 (Keys / jax.image) results are off by up to 0.24


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """Weights [..., 4] of the taps at offsets -1, 0, 1, 2 for fractional position ``t`` in [0, 1)."""
    a = np.float32(CUBIC_A)
    one, two = np.float32(1), np.float32(2)

    def near(x):  # |x| <= 1
        return ((a + 2) * x - (a + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a

    return np.stack([far(t + one), near(t), near(one - t), far(two - t)], axis=-1).astype(np.float32)


@functools.lru_cache(maxsize=32)
def bicubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out_size, in_size] float32 matrix M with ``resized = M @ signal`` along one axis."""
    f32 = np.float32
    # Source coordinates and weights in float32 like PyTorch's CPU kernel: computing them in float64
    # moves large downsamplings (640 -> 224) by up to 1e-4.
    scale = f32(in_size) / f32(out_size)
    src = scale * (np.arange(out_size, dtype=f32) + f32(0.5)) - f32(0.5)  # align_corners=False, unclamped
    left = np.floor(src)
    weights = _cubic_weights(src - left)
    left = left.astype(np.int64)
    mat = np.zeros((out_size, in_size), np.float64)
    rows = np.arange(out_size)
    for tap in range(4):
        # Out-of-range taps read the border pixel, so their weight accumulates there.
        cols = np.clip(left - 1 + tap, 0, in_size - 1)
        np.add.at(mat, (rows, cols), weights[:, tap])
    return mat.astype(f32)


def resize_bicubic(images: jnp.ndarray, height: int, width: int) -> jnp.ndarray:
    """Resize [B, H, W, C] images to [B, height, width, C] exactly as PyTorch's bicubic interpolate."""
    mh = jnp.asarray(bicubic_matrix(images.shape[1], height))
    mw = jnp.asarray(bicubic_matrix(images.shape[2], width))
    hi = jax.lax.Precision.HIGHEST  # float32 accuracy on every backend (TPU defaults to bf16 passes)
    out = jnp.einsum("oh,bhwc->bowc", mh, images, precision=hi)
    return jnp.einsum("pw,bowc->bopc", mw, out, precision=hi)

"""Rotary position embeddings as Wan applies them: complex rotation of adjacent channel pairs.

Wan views a head vector ``x`` of size H as H/2 complex numbers ``x[2i] + 1j*x[2i+1]`` and multiplies
each by ``exp(1j * pos * theta^(-2i/D))`` (D = the size of the table's channel group). The video RoPE
splits the H/2 complex channels into (time, height, width) groups, each with its own table. Tables are
computed in float64 on the host and stored as float32 cos/sin (upstream rotates in complex128).
"""

from __future__ import annotations

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np


def rope_angles(positions: np.ndarray, dim: int, theta: float = 10000.0) -> np.ndarray:
    """Angles [P, dim/2] = position * theta^(-2i/dim), float64."""
    if dim % 2:
        raise ValueError(f"rope dim must be even, got {dim}")
    inv_freq = 1.0 / np.power(theta, np.arange(0, dim, 2, dtype=np.float64) / dim)
    return np.outer(np.asarray(positions, np.float64), inv_freq)


@lru_cache(maxsize=32)
def rope_table(rows: int, dim: int, theta: float = 10000.0) -> tuple[np.ndarray, np.ndarray]:
    """(cos, sin) tables [rows, dim/2] in float32 for positions 0..rows-1 (read-only numpy)."""
    ang = rope_angles(np.arange(rows), dim, theta)
    cos, sin = np.cos(ang).astype(np.float32), np.sin(ang).astype(np.float32)
    cos.setflags(write=False)
    sin.setflags(write=False)
    return cos, sin


def table_rows(table: tuple[np.ndarray, np.ndarray], start, count: int) -> tuple[jax.Array, jax.Array]:
    """Rows ``start .. start+count-1`` of a (cos, sin) table; ``start`` may be a traced integer."""
    cos, sin = table
    start = jnp.asarray(start, jnp.int32)
    pick = lambda t: jax.lax.dynamic_slice_in_dim(jnp.asarray(t), start, count, axis=0)  # noqa: E731
    return pick(cos), pick(sin)


def video_rope(
    split: tuple[int, int, int],
    grid: tuple[int, int, int],
    start_frame=0,
    rows: int = 1024,
    theta: float = 10000.0,
) -> tuple[jax.Array, jax.Array]:
    """(cos, sin) [f*h*w, H/2] for frame-major tokens of a (f, h, w) grid starting at ``start_frame``.

    ``split`` = channels of the head rotated by (time, height, width); each axis has its own table.
    """
    f, h, w = grid
    ct, st = table_rows(rope_table(rows, split[0], theta), start_frame, f)
    ch, sh = rope_table(rows, split[1], theta)
    cw, sw = rope_table(rows, split[2], theta)

    def grid_table(t_part, h_part, w_part):
        t_part = jnp.broadcast_to(t_part[:, None, None, :], (f, h, w, t_part.shape[-1]))
        h_part = jnp.broadcast_to(jnp.asarray(h_part[:h])[None, :, None, :], (f, h, w, h_part.shape[-1]))
        w_part = jnp.broadcast_to(jnp.asarray(w_part[:w])[None, None, :, :], (f, h, w, w_part.shape[-1]))
        return jnp.concatenate([t_part, h_part, w_part], axis=-1).reshape(f * h * w, -1)

    return grid_table(ct, ch, cw), grid_table(st, sh, sw)


def apply_rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    """Rotate pairs (x[2i], x[2i+1]) of x [B, T, N, H] by per-token angles given as cos/sin [T, H/2]."""
    xf = x.astype(jnp.float32).reshape(*x.shape[:-1], -1, 2)
    re, im = xf[..., 0], xf[..., 1]
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    out = jnp.stack([re * c - im * s, re * s + im * c], axis=-1)
    return out.reshape(x.shape).astype(x.dtype)

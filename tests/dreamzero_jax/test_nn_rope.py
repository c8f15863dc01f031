"""RoPE: complex rotation of adjacent channel pairs, Wan's (t, h, w) split, dynamic table rows."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.nn.rope import apply_rope, rope_table, table_rows, video_rope


def _complex_rope(x: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """Direct formula: view (x[2i], x[2i+1]) as a complex number, multiply by exp(i * angle)."""
    z = x[..., 0::2] + 1j * x[..., 1::2]
    z = z * np.exp(1j * angles)[None, :, None, :]
    out = np.empty_like(x)
    out[..., 0::2], out[..., 1::2] = z.real, z.imag
    return out


def test_apply_rope_matches_complex_formula():
    x = np.random.default_rng(0).normal(size=(2, 5, 3, 8)).astype(np.float32)
    pos = np.array([0, 1, 7, 100, 1023])
    ang = np.outer(pos, 1.0 / 10000.0 ** (np.arange(0, 8, 2) / 8))
    cos, sin = rope_table(1024, 8)
    out = apply_rope(jnp.asarray(x), jnp.asarray(cos[pos]), jnp.asarray(sin[pos]))
    np.testing.assert_allclose(out, _complex_rope(x, ang), atol=2e-5)


def test_rope_preserves_norm_of_each_pair():
    x = jnp.ones((1, 4, 1, 6))
    cos, sin = table_rows(rope_table(64, 6), 10, 4)
    out = np.asarray(apply_rope(x, cos, sin)).reshape(4, 3, 2)
    np.testing.assert_allclose(np.linalg.norm(out, axis=-1), np.sqrt(2), rtol=1e-6)


def test_wan_split_and_video_positions():
    cfg = DiTConfig.tiny()
    assert cfg.rope_split == (12, 10, 10) and DiTConfig.droid_14b().rope_split == (44, 42, 42)
    f, h, w = 2, 4, 6
    cos, _ = video_rope(cfg.rope_split, (f, h, w), start_frame=3)
    assert cos.shape == (f * h * w, 16)
    # token (frame 1, row 2, column 5): time group uses absolute frame 4, then row 2, then column 5
    tok = 1 * h * w + 2 * w + 5
    want = np.concatenate(
        [
            np.outer([4], 1 / 10000 ** (np.arange(0, 12, 2) / 12)),
            np.outer([2], 1 / 10000 ** (np.arange(0, 10, 2) / 10)),
            np.outer([5], 1 / 10000 ** (np.arange(0, 10, 2) / 10)),
        ],
        axis=1,
    )[0]
    np.testing.assert_allclose(cos[tok], np.cos(want), atol=1e-6)


def test_table_rows_accepts_traced_start():
    table = rope_table(1024, 32)
    got = jax.jit(lambda s: table_rows(table, s, 4)[1])(jnp.int32(8))
    np.testing.assert_array_equal(got, table[1][8:12])

"""Sinusoidal time embeddings, 3-D patch embedding vs a real convolution, unpatchify layout."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.nn.embeddings import PatchEmbed3D, action_time_sinusoid, timestep_sinusoid, unpatchify


def test_timestep_sinusoid_is_cos_then_sin():
    t = np.array([0.0, 1.0, 250.0, 999.0])
    half = 16
    ang = np.outer(t, 10000.0 ** (-np.arange(half) / half))
    want = np.concatenate([np.cos(ang), np.sin(ang)], axis=1)
    np.testing.assert_allclose(timestep_sinusoid(jnp.asarray(t), 32), want, atol=1e-4)
    np.testing.assert_array_equal(timestep_sinusoid(jnp.zeros(()), 8), [1, 1, 1, 1, 0, 0, 0, 0])


def test_action_sinusoid_is_sin_then_cos():
    t = np.array([[3.0, 500.0]])
    half = 8
    ang = t[..., None] * np.exp(-np.arange(half) * np.log(10000.0) / half)
    want = np.concatenate([np.sin(ang), np.cos(ang)], axis=-1)
    got = action_time_sinusoid(jnp.asarray(t), 16)
    assert got.shape == (1, 2, 16)
    np.testing.assert_allclose(got, want, atol=2e-4)


def test_patch_embed_equals_strided_conv3d():
    pe = PatchEmbed3D(5, 7, (1, 2, 2), rngs=nnx.Rngs(0))
    pe.bias[...] = jnp.arange(7.0)
    x = jax.random.normal(jax.random.key(1), (2, 3, 4, 6, 5))
    conv = (
        jax.lax.conv_general_dilated(
            x,
            pe.kernel[...],
            window_strides=(1, 2, 2),
            padding="VALID",
            dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
        )
        + pe.bias[...]
    )
    tokens = pe(x)
    assert pe.grid(x.shape) == (3, 2, 3)
    np.testing.assert_allclose(tokens, conv.reshape(2, 18, 7), atol=1e-5)  # frame-major, row, column


def test_unpatchify_places_channels_like_wan():
    # one token per (frame, row, col); its 1*2*2*C values are ordered (pt, ph, pw, C), C fastest
    b, grid, patch, c = 1, (2, 2, 3), (1, 2, 2), 3
    tokens = jnp.arange(b * 12 * 4 * c, dtype=jnp.float32).reshape(b, 12, 4 * c)
    video = np.asarray(unpatchify(tokens, grid, patch))
    assert video.shape == (1, 2, 4, 6, 3)
    tok = 1 * 6 + 1 * 3 + 2  # frame 1, patch row 1, patch column 2
    for ph in range(2):
        for pw in range(2):
            np.testing.assert_array_equal(
                video[0, 1, 2 + ph, 4 + pw], tokens[0, tok, (ph * 2 + pw) * c : (ph * 2 + pw + 1) * c]
            )

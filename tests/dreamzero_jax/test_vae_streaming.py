"""Causality and the streaming cache of the Wan2.1 VAE (tiny config, fixture weights, 17 x 64 x 96 clip)."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
import pytest

from dreamzero_jax.models.vae import decode_latents, encode_stream_step
from dreamzero_jax.parity import checks_vae

ENCODERS = "dreamzero_tiny_encoders"


@pytest.fixture(scope="module")
def model(fixtures_dir: Path):
    return checks_vae.load_tiny_vae(fixtures_dir / ENCODERS)


@pytest.fixture(scope="module")
def video(fixtures_dir: Path) -> np.ndarray:
    io = np.load(fixtures_dir / ENCODERS / "vae_io.npz")
    return np.moveaxis(io["enc_in_video"], 1, -1)  # [1, 17, 64, 96, 3]


@pytest.fixture(scope="module")
def whole_latent(model, video) -> np.ndarray:
    return np.asarray(checks_vae.encoder_outputs(model, video)[3])


def test_chunked_encode_equals_whole_clip(model, video, whole_latent):
    latent, cache = encode_stream_step(model, None, video[:, :1])
    pieces = [np.asarray(latent)]
    for start in range(1, 17, 4):
        latent, cache = encode_stream_step(model, cache, video[:, start : start + 4])
        pieces.append(np.asarray(latent))
    # the cache is a pytree of fixed-shape arrays, so later chunks reuse one compiled step
    assert all(isinstance(leaf, jax.Array) for leaf in jax.tree.leaves(cache))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole_latent, rtol=0, atol=1e-5)


def test_later_frame_never_changes_earlier_latent(model, video, whole_latent):
    perturbed = video.copy()
    perturbed[:, 9] = -perturbed[:, 9]  # frame 9 opens latent chunk 3 (frames 9..12)
    latent = np.asarray(checks_vae.encoder_outputs(model, perturbed)[3])
    np.testing.assert_array_equal(latent[:, :3], whole_latent[:, :3])
    assert np.abs(latent[:, 3:] - whole_latent[:, 3:]).max() > 1e-3


def test_first_chunk_must_be_one_frame(model, video):
    with pytest.raises(ValueError, match="exactly 1 frame"):
        model.encode_chunk(None, video[:, :5])


def test_later_chunks_must_be_whole_groups_of_four(model, video):
    _, cache = jax.eval_shape(lambda: model.encode_chunk(None, video[:, :1]))
    with pytest.raises(ValueError, match="multiple of 4"):
        jax.eval_shape(lambda: model.encode_chunk(cache, video[:, 1:4]))


@pytest.mark.slow
def test_later_latent_never_changes_earlier_pixels(model, whole_latent):
    pixels = np.asarray(decode_latents(model, whole_latent))
    perturbed = whole_latent.copy()
    perturbed[:, 3] += 1.0  # latent 3 decodes to pixel frames 9..12
    changed = np.asarray(decode_latents(model, perturbed))
    np.testing.assert_array_equal(changed[:, :9], pixels[:, :9])
    assert np.abs(changed[:, 9:] - pixels[:, 9:]).max() > 1e-3


@pytest.mark.slow
def test_chunked_decode_equals_whole(model, whole_latent):
    whole = np.asarray(decode_latents(model, whole_latent))
    step = jax.jit(lambda cache, z: model.decode_chunk(cache, z))
    frames, cache = step(None, whole_latent[:, :1])
    pieces = [np.asarray(frames)]
    for i in range(1, whole_latent.shape[1]):
        frames, cache = step(cache, whole_latent[:, i : i + 1])
        pieces.append(np.asarray(frames))
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=0, atol=1e-5)


@pytest.mark.slow
def test_one_chunk_of_eight_frames_equals_two_of_four(model, video, whole_latent):
    _, cache = encode_stream_step(model, None, video[:, :1])
    latent, _ = encode_stream_step(model, cache, video[:, 1:9])
    np.testing.assert_allclose(np.asarray(latent), whole_latent[:, 1:3], rtol=0, atol=1e-5)

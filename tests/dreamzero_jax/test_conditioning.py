"""The i2v conditioning `y`, the prompt-embedding glue and its cache."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from dreamzero_jax.conditioning import (
    PromptCache,
    build_y,
    droid_prompt,
    first_frame_clip,
    first_frame_mask,
    y_from_latent,
    zero_after_shortest,
)
from dreamzero_jax.configs.t5 import TINY
from dreamzero_jax.parity.checks_text_image import SUBDIR, tiny_t5
from dreamzero_jax.text.tokenizer import tiny_tokenizer


@pytest.fixture(scope="module")
def y_io(fixtures_dir):
    return np.load(fixtures_dir / SUBDIR / "y_io.npz")


def test_mask_marks_only_the_first_latent_frame():
    mask = np.asarray(first_frame_mask(2, 5, 8, 12))
    assert mask.shape == (2, 5, 8, 12, 4)
    assert np.all(mask[:, 0] == 1) and np.all(mask[:, 1:] == 0)


def test_y_from_reference_latent_matches_upstream(y_io):
    ref_y = y_io["out_y"].transpose(0, 2, 3, 4, 1)  # upstream [B, 20, T', h, w] -> channels-last
    y, first = y_from_latent(jnp.asarray(ref_y[..., 4:]))
    np.testing.assert_array_equal(np.asarray(y), ref_y)
    np.testing.assert_array_equal(np.asarray(first), y_io["out_new_image"].transpose(0, 2, 3, 4, 1))


def test_build_y_feeds_first_frame_then_zeros_to_the_vae(y_io):
    image = jnp.asarray(y_io["in_image"][:, 0].transpose(0, 2, 3, 1))  # [B, H, W, 3]
    seen = {}

    def fake_vae(video):  # 8x spatial, 4x temporal (causal: 1 + 4k frames) like the Wan VAE
        seen["video"] = video
        b, t, h, w, _ = video.shape
        return jnp.broadcast_to(video[:, :1, ::8, ::8, :1], (b, 1 + (t - 1) // 4, h // 8, w // 8, 16))

    y, first = build_y(image, int(y_io["in_num_frames"]), fake_vae)
    video = np.asarray(seen["video"])
    assert video.shape == (2, 17, 64, 96, 3)
    np.testing.assert_array_equal(video[:, 0], np.asarray(image))
    assert not np.any(video[:, 1:])
    assert y.shape == (2, 5, 8, 12, 20) and first.shape == (2, 1, 8, 12, 16)
    np.testing.assert_array_equal(np.asarray(y[..., 4:]), np.asarray(fake_vae(video)))


def test_first_frame_clip_single_frame():
    img = jnp.ones((1, 4, 4, 3))
    np.testing.assert_array_equal(np.asarray(first_frame_clip(img, 1)), np.ones((1, 1, 4, 4, 3)))


def test_zero_after_shortest_zeroes_all_samples_from_min_length():
    emb = jnp.ones((2, 6, 3))
    mask = jnp.asarray([[1, 1, 1, 1, 0, 0], [1, 1, 0, 0, 0, 0]])
    out = np.asarray(zero_after_shortest(emb, mask))
    assert np.all(out[:, :2] == 1) and not np.any(out[:, 2:])


def test_prompt_cache_encodes_once_per_prompt(fixtures_dir):
    tok = tiny_tokenizer(text_len=32)
    encoder = tiny_t5(fixtures_dir / SUBDIR)
    cache = PromptCache(tok, encoder)
    a = cache("put the bowl on the plate")
    assert a.shape == (1, 32, TINY.dim) and a.dtype == jnp.bfloat16
    assert cache("put the bowl on the plate") is a and len(cache) == 1
    b = cache("open the drawer")
    assert len(cache) == 2 and not np.array_equal(np.asarray(a, np.float32), np.asarray(b, np.float32))
    n = int(tok(["open the drawer"])[1].sum())
    assert np.any(np.asarray(b, np.float32)[0, :n]) and not np.any(np.asarray(b, np.float32)[0, n:])
    cache.clear()
    assert len(cache) == 0


def test_droid_prompt_template():
    text = droid_prompt("Put the Cup in the Sink.")
    assert text.startswith(
        "A multi-view video shows that a robot put the cup in the sink. The video is split"
    )
    assert text.endswith("The robot put the cup in the sink.")


@pytest.mark.slow
def test_build_y_with_the_jax_vae_matches_upstream(fixtures_dir, y_io):
    pytest.importorskip("dreamzero_jax.models.vae")
    from dreamzero_jax.parity.checks_text_image import _tiny_vae_encode

    encode = _tiny_vae_encode(fixtures_dir / SUBDIR)
    image = jnp.asarray(y_io["in_image"][:, 0].transpose(0, 2, 3, 1))
    y, first = build_y(image, int(y_io["in_num_frames"]), encode)
    np.testing.assert_allclose(np.asarray(y), y_io["out_y"].transpose(0, 2, 3, 4, 1), atol=1e-4)
    np.testing.assert_allclose(np.asarray(first), y_io["out_new_image"].transpose(0, 2, 3, 4, 1), atol=1e-4)

"""The chunk noise of a session: upstream's draw, scaled by ``noise_scale`` (the sampling temperature)."""

import dataclasses

import numpy as np

from dreamzero_jax.configs import get_config
from dreamzero_jax.inference.episode import chunk_noise

SMALL_T1 = dataclasses.replace(get_config("small"), noise_scale=1.0)


def test_action_noise_is_the_start_of_the_video_noise_in_upstream_layout():
    assert get_config("tiny").noise_scale == 1.0  # the parity config samples as upstream
    assert get_config("small").noise_scale == 0.0  # the shipped model samples deterministically
    config = SMALL_T1
    video, action = chunk_noise(config, 7, (16, 24))
    assert video.shape == (1, 1, 16, 24, 16) and action.shape == (1, 8, 8)
    upstream = np.moveaxis(np.asarray(video), -1, 1).reshape(-1)  # [B, C, F, H, W] flattened
    np.testing.assert_array_equal(np.asarray(action).reshape(-1), upstream[:64])
    assert abs(float(np.std(video)) - 1.0) < 0.05


def test_noise_scale_scales_both_noises_and_keeps_the_draw():
    config = SMALL_T1
    video, action = chunk_noise(config, 7, (16, 24))
    cool_video, cool_action = chunk_noise(dataclasses.replace(config, noise_scale=0.25), 7, (16, 24))
    np.testing.assert_allclose(np.asarray(cool_video), 0.25 * np.asarray(video), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(cool_action), 0.25 * np.asarray(action), rtol=1e-6)
    other, _ = chunk_noise(config, 8, (16, 24))
    assert not np.allclose(np.asarray(other), np.asarray(video))  # the seed picks the draw
    zero_video, zero_action = chunk_noise(get_config("small"), 7, (16, 24))
    assert not np.asarray(zero_video).any() and not np.asarray(zero_action).any()

"""Timestep/noise sampling, prompt dropout, the data order and the optimizer schedule."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dreamzero_jax.configs import get_config
from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.data import epoch_permutation, step_key, stream_indices
from dreamzero_jax.train.flow import NoisyInputs, sample_flow
from dreamzero_jax.train.loop import prompt_dropout
from dreamzero_jax.train.loss import drop_prompts, flow_matching_loss
from dreamzero_jax.train.optim import decay_mask, lr_schedule


def test_sample_flow_ties_timesteps_to_blocks():
    dit = get_config("tiny").dit  # 2 frames and 4 actions per block
    draw = sample_flow(jax.random.key(0), (64, 5, 8, 12, 16), (64, 8, 8), dit)
    ids = np.asarray(draw.timestep_id)
    assert ids.min() >= 0 and ids.max() <= 999
    assert np.array_equal(ids[:, 1], ids[:, 2]) and np.array_equal(ids[:, 3], ids[:, 4])
    assert not np.array_equal(ids[:, 0], ids[:, 1])  # frame 0 draws its own timestep
    assert not np.array_equal(ids[:, 1], ids[:, 3])  # blocks are independent
    assert np.array_equal(np.asarray(draw.action_timestep_id), np.repeat(ids[:, [1, 3]], 4, axis=1))
    assert draw.noise_video.shape == (64, 5, 8, 12, 16) and draw.noise_action.shape == (64, 8, 8)
    # training draws the action noise independently of the video noise (unlike inference)
    assert not np.allclose(np.ravel(draw.noise_action)[:64], np.ravel(draw.noise_video)[:64])
    other = sample_flow(jax.random.key(1), (64, 5, 8, 12, 16), (64, 8, 8), dit)
    assert not np.array_equal(ids, np.asarray(other.timestep_id))


def test_sample_flow_rejects_misaligned_actions():
    with pytest.raises(ValueError, match="actions"):
        sample_flow(jax.random.key(0), (1, 5, 8, 12, 16), (1, 6, 8), get_config("tiny").dit)


def test_drop_prompts():
    ctx = jnp.arange(1.0, 9.0).reshape(8, 1, 1) * jnp.ones((8, 3, 2))
    uncond = -jnp.ones((1, 3, 2))
    key = jax.random.key(3)
    assert np.array_equal(drop_prompts(key, ctx, uncond, 0.0), ctx)
    assert np.array_equal(drop_prompts(key, ctx, uncond, 1.0), jnp.broadcast_to(uncond, ctx.shape))
    mixed = np.asarray(drop_prompts(key, ctx, uncond, 0.5))
    dropped = (mixed == -1).all(axis=(1, 2))
    kept = (mixed == np.asarray(ctx)).all(axis=(1, 2))
    assert (dropped | kept).all() and dropped.any() and kept.any()


def test_prompt_dropout_only_with_cfg():
    cfg = TrainConfig(prompt_dropout=0.2)
    tiny = get_config("tiny")
    assert tiny.cfg_scale != 1.0 and prompt_dropout(tiny, cfg) == 0.2
    assert prompt_dropout(dataclasses.replace(tiny, cfg_scale=1.0), cfg) == 0.0


def test_stream_crosses_epochs_deterministically():
    n = 5
    first = stream_indices(7, n, 0, 12)  # 2 full epochs + 2 of the third
    assert sorted(first[:5]) == list(range(5)) and sorted(first[5:10]) == list(range(5))
    assert not np.array_equal(first[:5], first[5:10])  # a new permutation per epoch
    assert np.array_equal(first[:5], epoch_permutation(7, 0, n))
    # reading from a stored position continues the same stream
    assert np.array_equal(np.concatenate([stream_indices(7, n, 0, 3), stream_indices(7, n, 3, 9)]), first)
    assert not np.array_equal(stream_indices(8, n, 0, 5), first[:5])
    assert not np.array_equal(jax.random.key_data(step_key(0, 1, 0)), jax.random.key_data(step_key(0, 2, 0)))


def test_lr_warmup_then_cosine():
    s = lr_schedule(TrainConfig(steps=100, lr=1e-3, warmup=10, final_lr_ratio=0.1))
    assert float(s(0)) == 0.0 and float(s(5)) == pytest.approx(5e-4)
    assert float(s(10)) == pytest.approx(1e-3)
    assert float(s(55)) == pytest.approx(1e-4 + 0.5 * 9e-4, rel=1e-4)  # cosine midpoint
    assert float(s(100)) == pytest.approx(1e-4)


def test_weight_decay_skips_vectors():
    mask = decay_mask({"kernel": jnp.ones((3, 4)), "bias": jnp.ones(4), "modulation": jnp.ones((1, 6, 4))})
    assert mask == {"kernel": True, "bias": False, "modulation": True}


def test_train_config_rejects_bad_values():
    bads = (
        {"steps": 0},
        {"lr": 0.0},
        {"ema": 1.0},
        {"compute_dtype": "fp8"},
        {"warmup": 2000},
        {"phases": (0,)},
        {"phases": (4, 0)},
        {"phases": ()},
        {"action_weight": 0.0},
        {"action_weight": float("nan")},
    )
    for bad in bads:
        with pytest.raises(ValueError):
            TrainConfig(**bad)


def test_action_weight_scales_only_the_action_term():
    """Distinct video/action errors and weights: the total is video + w * action, the terms unscaled."""
    noisy = NoisyInputs(
        x=None,
        timestep=None,
        actions=None,
        timestep_action=None,
        target_video=jnp.zeros((2, 3, 2, 2, 4)),
        target_action=jnp.zeros((2, 5, 8)),
        weight_video=jnp.full((2, 3), 2.0),
        weight_action=jnp.full((2, 5), 0.5),
    )
    video, action = jnp.full((2, 3, 2, 2, 4), 3.0), jnp.full((2, 5, 8), 0.2)
    plain = flow_matching_loss(video, action, noisy)
    weighted = flow_matching_loss(video, action, noisy, action_weight=10.0)
    np.testing.assert_allclose([plain.video, plain.action], [18.0, 0.02], rtol=1e-6)
    np.testing.assert_allclose([weighted.video, weighted.action], [plain.video, plain.action], rtol=1e-6)
    np.testing.assert_allclose(weighted.loss, 18.0 + 10.0 * 0.02, rtol=1e-6)

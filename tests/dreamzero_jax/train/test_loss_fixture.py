"""The training loss on the upstream fixture's inputs equals the loss computed from its recorded outputs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.parity.checks_dit import channels_last, load_tiny
from dreamzero_jax.train.batch import TrainBatch
from dreamzero_jax.train.flow import (
    FlowDraw,
    action_timestep_ids,
    block_timestep_ids,
    noisy_inputs,
    training_scheduler,
)
from dreamzero_jax.train.step import LossSpec, split_model


@pytest.fixture(scope="module")
def fixture(fixtures_dir):
    path = fixtures_dir / "dreamzero_tiny"
    return path, np.load(path / "forward_train.npz")


def _draw(f) -> FlowDraw:
    return FlowDraw(
        jnp.asarray(f["aux_timestep_id"], jnp.int32),
        jnp.asarray(f["aux_timestep_action_id"], jnp.int32),
        channels_last(f["aux_noise_video"]),
        jnp.asarray(f["aux_noise_action"]),
    )


def _reference_loss(f) -> tuple[float, float]:
    """Upstream's formula written out on the fixture's recorded outputs and targets (float64)."""
    err_v = (f["out_video_flow"].astype(np.float64) - f["aux_target_video_flow"]) ** 2  # [B, C, F, H, W]
    video = (err_v.mean(axis=(1, 3, 4)) * f["aux_training_weight_video"]).mean()
    err_a = (f["out_action_flow"].astype(np.float64) - f["aux_target_action_flow"]) ** 2  # [B, A, D]
    action = (err_a.mean(axis=2) * f["aux_training_weight_action"]).mean()
    return float(video), float(action)


def test_timestep_ids_are_tied_as_upstream(fixture):
    _, f = fixture
    ids = jnp.asarray(f["aux_timestep_id"], jnp.int32)
    assert np.array_equal(block_timestep_ids(ids, 2), ids)
    assert np.array_equal(action_timestep_ids(ids, 2, 4), f["aux_timestep_action_id"])
    raw = jnp.array([[7, 1, 2, 3, 4], [9, 5, 6, 8, 0]])
    assert block_timestep_ids(raw, 2).tolist() == [[7, 1, 1, 3, 3], [9, 5, 5, 8, 8]]
    assert action_timestep_ids(block_timestep_ids(raw, 2), 2, 2).tolist() == [[1, 1, 3, 3], [5, 5, 8, 8]]


def test_noisy_inputs_match_fixture(fixture):
    _, f = fixture
    noisy = noisy_inputs(
        training_scheduler(), channels_last(f["in_clean_x"]), jnp.asarray(f["aux_clean_action"]), _draw(f)
    )
    np.testing.assert_allclose(noisy.x, channels_last(f["in_x"]), atol=1e-6)
    np.testing.assert_allclose(noisy.actions, f["in_action"], atol=1e-6)
    np.testing.assert_allclose(noisy.timestep, f["in_timestep"], rtol=1e-6)
    np.testing.assert_allclose(noisy.timestep_action, f["in_timestep_action"], rtol=1e-6)
    np.testing.assert_allclose(noisy.target_video, channels_last(f["aux_target_video_flow"]), atol=1e-6)
    np.testing.assert_allclose(noisy.target_action, f["aux_target_action_flow"], atol=1e-6)
    # the scheduler builds its weight table in float64 (upstream: float32): ~2e-6 relative
    np.testing.assert_allclose(noisy.weight_video, f["aux_training_weight_video"], rtol=1e-5)
    np.testing.assert_allclose(noisy.weight_action, f["aux_training_weight_action"], rtol=1e-5)


def test_loss_equals_fixture_derived_loss(fixture):
    path, f = fixture
    graphdef, params = split_model(load_tiny(path))
    batch = TrainBatch(
        channels_last(f["in_clean_x"]),
        channels_last(f["in_y"]),
        jnp.asarray(f["in_context"]),
        jnp.asarray(f["aux_clean_action"]),
        jnp.asarray(f["in_state"]),
    )
    spec = LossSpec(graphdef, load_tiny(path).config)
    with jax.default_matmul_precision("highest"):
        terms = jax.jit(spec.loss_of_draw)(params, batch, jnp.asarray(f["in_clip_feature"]), _draw(f))
    video, action = _reference_loss(f)
    assert video > 0.1 and action > 0.01  # both terms carry weight: a dropped term would show
    assert abs(float(terms.video) - video) <= 1e-5
    assert abs(float(terms.action) - action) <= 1e-5
    assert abs(float(terms.loss) - (video + action)) <= 1e-5
    assert isinstance(params, nnx.State)

"""DreamZeroPolicy on synthetic DROID observations with the tiny random-weight config."""

from __future__ import annotations

import numpy as np
import pytest

from dreamzero_jax.inference import DreamZeroPolicy
from dreamzero_jax.inference.frames import DROID_CAMERAS
from dreamzero_jax.normalization import MinMax, NormStats


def observation(i: int, prompt: str = "pick up the cube") -> dict:
    rng = np.random.default_rng(i)
    obs = {k: rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for k in DROID_CAMERAS}
    return obs | {
        "joint_position": rng.normal(0, 0.5, 7),
        "gripper_position": np.array([0.2]),
        "prompt": prompt,
    }


def test_unknown_override_is_rejected_before_building():
    with pytest.raises(ValueError, match="warp_speed"):
        DreamZeroPolicy.from_config("tiny", warp_speed=9)
    with pytest.raises(KeyError, match="tiny"):
        DreamZeroPolicy.from_config("huge")


@pytest.fixture(scope="module")
def policy():
    return DreamZeroPolicy.from_config("tiny", seed=0)


def test_episode_flow_resets_and_never_recompiles(policy):
    meta = policy.metadata
    assert meta["action_dim"] == 8 and meta["chunk_length"] == 4 and meta["cameras"] == DROID_CAMERAS
    assert meta["action_space"] == "joint_position" and meta["image_size"] == (32, 48)

    def episode(seed, prompts=("pick up the cube",) * 3):
        policy.reset("pick up the cube", seed=seed)
        outs, starts = [], []
        for i, prompt in enumerate(prompts):
            outs.append(policy.infer(observation(i, prompt)))
            starts.append(policy.start_frame)
        return outs, starts

    outs, starts = episode(1)
    for out in outs:
        assert out["actions"].shape == (4, 8) and out["actions"].dtype == np.float32
        assert np.isfinite(out["actions"]).all()
        assert {"text", "vae", "kv_fill", "denoise", "dit_pass", "scheduler", "total"} <= set(out["timing"])
    # tiny window = 5 latent frames: chunks start at frame 1, 3, then the head resets (5 >= 5) to frame 1
    assert starts == [3, 5, 3]
    assert ["image" in o["timing"] for o in outs] == [True, False, True]  # a reset re-encodes the image
    compiled = policy.compiles.total
    assert compiled > 0

    # the same seed reproduces the episode; another seed changes the noise and so the actions
    again, _ = episode(1)
    for a, b in zip(outs, again, strict=True):
        np.testing.assert_array_equal(a["actions"], b["actions"])
    other, _ = episode(2)
    assert np.abs(other[0]["actions"] - outs[0]["actions"]).max() > 1e-4

    # a new prompt mid-episode resets the sequence (and is encoded once more)
    changed, starts = episode(1, ("pick up the cube", "open the drawer", "open the drawer"))
    assert starts == [3, 3, 5]
    assert "image" in changed[1]["timing"] and "image" not in changed[2]["timing"]
    assert np.abs(changed[1]["actions"] - outs[1]["actions"]).max() > 1e-4
    # chunks, episodes and prompts reuse the compilations of the first episode
    assert policy.compiles.total == compiled, dict(policy.compiles)


def _bounds(low: list[float], high: list[float]) -> MinMax:
    return MinMax(np.array(low, np.float64), np.array(high, np.float64))


def test_actions_are_denormalised_with_the_action_statistics(policy, monkeypatch):
    """Same state statistics, two different action statistics: the model's (normalised) output is the same,
    so the actions must differ exactly as the action statistics do. Denormalising with the state
    statistics, or normalising the state with the action statistics, breaks one of the two."""
    state = _bounds([-3.0, -2.0, -3.0, -3.1, -3.0, -0.1, -3.0, 0.0], [3.0, 2.0, 3.0, 0.0, 3.0, 3.8, 3.0, 1.0])
    action_a = _bounds(
        [-1.0, -0.5, -2.0, -4.0, -1.5, 0.5, -0.2, 0.1], [1.0, 2.5, 0.0, -1.0, 1.5, 2.5, 0.8, 0.9]
    )
    action_b = _bounds(
        [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0], [11.0, 23.0, 35.0, 47.0, 59.0, 71.0, 83.0, 95.0]
    )

    def first_chunk(stats: NormStats) -> np.ndarray:
        monkeypatch.setattr(policy, "stats", stats)
        policy.reset("pick up the cube", seed=3)
        return policy.infer(observation(0))["actions"]

    a = first_chunk(NormStats(state, action_a))
    b = first_chunk(NormStats(state, action_b))
    assert np.abs(a - b).min() > 1.0  # the action statistics reach the actions
    np.testing.assert_allclose(action_a.normalize(a), action_b.normalize(b), atol=1e-3)


def test_relative_action_dims_add_the_state_at_the_call(policy, monkeypatch):
    """A config with relative joint actions returns offsets + the observed joints; the gripper stays absolute."""
    import dataclasses

    def first_chunk(rel: int) -> tuple[np.ndarray, dict]:
        monkeypatch.setattr(policy, "config", dataclasses.replace(policy.config, relative_action_dims=rel))
        policy.reset("pick up the cube", seed=3)
        obs = observation(0)
        return policy.infer(obs)["actions"], obs

    absolute, obs = first_chunk(0)
    relative, _ = first_chunk(7)
    joints = np.ravel(obs["joint_position"])[:7]
    assert np.abs(joints).min() > 0  # distinct from zero, so a missing offset shows
    np.testing.assert_allclose(relative[:, :7], absolute[:, :7] + joints, atol=1e-5)
    np.testing.assert_array_equal(relative[:, 7], absolute[:, 7])


@pytest.mark.slow
def test_components_restore_from_an_orbax_checkpoint(tmp_path):
    import jax
    from flax import nnx

    from dreamzero_jax.checkpoint.orbax_io import save_state
    from dreamzero_jax.configs import get_config
    from dreamzero_jax.inference.components import build_components
    from dreamzero_jax.normalization import default_stats

    config = get_config("tiny")
    saved = build_components(config, None, seed=0)
    for name in ("dit", "vae", "t5", "clip"):
        save_state(tmp_path / name, nnx.state(getattr(saved, name), nnx.Param))
    default_stats().save(tmp_path / "normalization.json")
    restored = build_components(config, tmp_path, seed=5)  # other random init, then overwritten
    for name in ("dit", "vae", "t5", "clip"):
        want = jax.tree.leaves(nnx.state(getattr(saved, name), nnx.Param))
        got = jax.tree.leaves(nnx.state(getattr(restored, name), nnx.Param))
        assert len(want) == len(got) and all(np.array_equal(a, b) for a, b in zip(want, got, strict=True)), (
            name
        )
    np.testing.assert_array_equal(NormStats.load(tmp_path).action.high, default_stats().action.high)
    with pytest.raises(FileNotFoundError, match="dit/"):
        build_components(config, tmp_path / "nowhere", seed=0)

"""Action validation (clear errors, state untouched) and that each action space moves the robot as documented."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.experts import RandomAgent, ZeroAgent


@pytest.fixture(scope="module")
def env():
    e = envs.make("Lift", cameras=())
    yield e
    e.close()


def _snapshot(env):
    d = env.unwrapped.scene.sim.data
    return d.qpos.copy(), d.qvel.copy(), float(d.time), env.unwrapped.timestep


@pytest.mark.parametrize(
    ("make_bad", "needle"),
    [
        (lambda a: a[:7], r"shape \(8,\)"),
        (lambda a: np.append(a, 0.0), r"shape \(8,\)"),
        (lambda a: a.reshape(2, 4), r"shape \(8,\)"),
        (lambda a: np.where(np.arange(8) == 3, np.nan, a), "index 3"),
        (lambda a: np.where(np.arange(8) == 7, np.inf, a), "index 7"),
        (lambda a: np.where(np.arange(8) == 0, -np.inf, a), "index 0"),
    ],
)
def test_bad_action_raises_and_leaves_state(env, make_bad, needle):
    obs, _ = env.reset(seed=0)
    good = np.append(obs["joint_position"], 0.0).astype(np.float32)
    env.step(good)
    before = _snapshot(env)
    with pytest.raises(ValueError, match=needle) as err:
        env.step(make_bad(good))
    assert "joint_position" in str(err.value)
    after = _snapshot(env)
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_string_action_rejected(env):
    env.reset(seed=0)
    with pytest.raises(ValueError, match="joint_position"):
        env.step(np.array(["a"] * 8))


def test_joint_position_tracks_absolute_targets(env):
    obs, _ = env.reset(seed=0)
    target = obs["joint_position"].copy()
    target[0] += 0.2
    target[3] -= 0.15
    for _ in range(20):
        obs, *_ = env.step(np.append(target, 0.0).astype(np.float32))
    np.testing.assert_allclose(obs["joint_position"], target, atol=0.02)


def test_gripper_closes_and_opens(env):
    obs, _ = env.reset(seed=0)
    q = obs["joint_position"]
    for _ in range(15):
        obs, *_ = env.step(np.append(q, 1.0).astype(np.float32))
    assert obs["gripper_position"][0] > 0.8
    for _ in range(15):
        obs, *_ = env.step(np.append(q, 0.0).astype(np.float32))
    assert obs["gripper_position"][0] < 0.1


def test_out_of_range_actions_are_clipped_not_rejected(env):
    obs, _ = env.reset(seed=0)
    action = np.append(obs["joint_position"], 5.0).astype(np.float32)
    action[1] = 100.0
    obs, *_ = env.step(action)
    assert env.observation_space.contains(obs)


def test_joint_velocity_moves_joint():
    e = envs.make("Lift", cameras=(), action_space="joint_velocity")
    obs, _ = e.reset(seed=0)
    q0 = obs["joint_position"].copy()
    v = np.zeros(8, np.float32)
    v[0] = 0.5
    for _ in range(15):  # one second at 0.5 rad/s
        obs, *_ = e.step(v)
    moved = obs["joint_position"] - q0
    assert 0.25 < moved[0] < 0.75 and np.all(np.abs(moved[1:]) < 0.1)
    e.close()


def test_cartesian_velocity_moves_end_effector():
    e = envs.make("Lift", cameras=(), action_space="cartesian_velocity")
    obs, _ = e.reset(seed=0)
    x0 = obs["cartesian_position"][:3].copy()
    a = np.zeros(7, np.float32)
    a[0], a[2] = 0.5, -0.5  # forward and down
    for _ in range(8):
        obs, *_ = e.step(a)
    dx = obs["cartesian_position"][:3] - x0
    assert dx[0] > 0.05 and dx[2] < -0.05 and abs(dx[1]) < 0.03
    e.close()


@pytest.mark.parametrize("space", envs.list_action_spaces())
def test_zero_agent_holds_still(space):
    e = envs.make("Lift", cameras=(), action_space=space)
    obs, _ = e.reset(seed=0)
    q0 = obs["joint_position"].copy()
    agent = ZeroAgent(e)
    agent.reset()
    for _ in range(20):
        obs, *_ = e.step(agent.act(obs))
    assert np.abs(obs["joint_position"] - q0).max() < 0.02
    e.close()


def test_random_agent_is_seeded_and_in_bounds(env):
    a, b = RandomAgent(env, seed=1), RandomAgent(env, seed=1)
    acts = [a.act() for _ in range(5)]
    assert all(env.action_space.contains(x) for x in acts)
    assert all(np.array_equal(x, b.act()) for x in acts)

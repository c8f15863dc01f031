"""Lift: success predicate and staged progress read from simulator state."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.experts import RandomAgent


@pytest.fixture(scope="module")
def env():
    e = envs.make("Lift", cameras=())
    yield e
    e.close()


def _evaluate(env):
    u = env.unwrapped
    u.scene.forward()
    return u.task.evaluate(u.scene)


def test_lifted_cube_is_success(env):
    env.reset(seed=0)
    u = env.unwrapped
    cube = u.task.cube
    xy = u.scene.object_pos(cube)[:2]
    u.scene.set_object_pose(cube, xy, 0.0, z=u.scene.table_top_z + 0.02 + 0.06)
    ev = _evaluate(env)
    assert ev.success and ev.progress == 1.0
    u.scene.set_object_pose(cube, xy, 0.0, z=u.scene.table_top_z + 0.02 + 0.04)
    assert not _evaluate(env).success


def test_reached_stage(env):
    env.reset(seed=0)
    u = env.unwrapped
    eef = u.scene.eef_pos()
    u.scene.set_object_pose(u.task.cube, eef[:2], 0.0, z=eef[2] - 0.03)
    ev = _evaluate(env)
    assert ev.stages["reached"] and not ev.stages["grasped"]
    assert ev.progress == pytest.approx(1 / 3) or ev.stages["lifted"]


def test_progress_in_range_and_random_agent_fails(env):
    env.reset(seed=1)
    agent = RandomAgent(env, seed=1)
    for _ in range(30):
        _, _, terminated, _, info = env.step(agent.act())
        assert 0.0 <= info["progress"] <= 1.0
        assert terminated == info["success"]
    assert not info["success"]


def test_horizon_truncates():
    e = envs.make("Lift", cameras=(), horizon=3)
    obs, _ = e.reset(seed=0)
    hold = np.append(obs["joint_position"], 0.0).astype(np.float32)
    flags = [e.step(hold)[3] for _ in range(3)]
    assert flags == [False, False, True]
    e.close()

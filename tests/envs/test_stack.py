"""StackCubes: start layout and the success/progress predicates from simulator state (the shared contract:
test_tasks.py)."""

from __future__ import annotations

import numpy as np
import pytest

import envs

TASK = "StackCubes"


@pytest.fixture(scope="module")
def env():
    e = envs.make(TASK, "panda", cameras=())
    yield e
    e.close()


def _put(scene, obj, pos, yaw=0.0):
    quat = [np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)]
    scene.sim.data.set_joint_qpos(obj.joints[0], np.concatenate([pos, quat]))
    scene.forward()


def test_cubes_start_apart(env):
    for seed in range(3):
        env.reset(seed=seed)
        top, base = (env.unwrapped.sim_state()["objects"][k]["pos"] for k in ("cube_top", "cube_base"))
        assert np.linalg.norm(top[:2] - base[:2]) > 0.1  # they start apart


def test_predicate_stacked_vs_offset_vs_hovering(env):
    env.reset(seed=0)
    task, scene = env.unwrapped.task, env.unwrapped.scene
    base = scene.object_pos(task.base)
    resting_z = base[2] + task.config.base_half_size + task.config.top_half_size
    _put(
        scene, task.top, [base[0] + 0.005, base[1], resting_z - 0.0005], yaw=0.3
    )  # touching, as when resting
    ev = task.evaluate(scene)
    assert ev.success and ev.progress == 1.0
    _put(scene, task.top, [base[0] + 0.04, base[1], resting_z - 0.0005])  # off-centre: not a stack
    assert not task.evaluate(scene).success
    _put(scene, task.top, [base[0], base[1], resting_z + 0.03])  # hovering above: aligned, not stacked
    ev = task.evaluate(scene)
    assert not ev.success and ev.stages["aligned"] and ev.stages["lifted"]
    assert ev.progress == pytest.approx(0.8)

"""PushToTarget: target sampling and the success/progress predicates (the shared contract: test_tasks.py)."""

from __future__ import annotations

import numpy as np
import pytest

import envs

TASK = "PushToTarget"


@pytest.fixture(scope="module")
def env():
    e = envs.make(TASK, "panda", cameras=())
    yield e
    e.close()


def _put(scene, obj, xy, z):
    scene.sim.data.set_joint_qpos(obj.joints[0], np.array([xy[0], xy[1], z, 1.0, 0.0, 0.0, 0.0]))
    scene.forward()


def test_target_is_on_the_table_and_away_from_the_puck(env):
    cfg = env.unwrapped.task.config
    for seed in range(10):
        _, info = env.reset(seed=seed)
        state = env.unwrapped.sim_state()
        target, puck = state["target_pos"], state["objects"]["puck"]["pos"]
        assert abs(target[0]) <= cfg.target_bounds[0] + 1e-9 and abs(target[1]) <= cfg.target_bounds[1] + 1e-9
        assert cfg.distance[0] - 1e-9 <= np.linalg.norm(target[:2] - puck[:2]) <= cfg.distance[1] + 1e-9
        assert info["variations"]["object_pose.target_x"] == pytest.approx(target[0])
        assert not info["success"] and info["progress"] == 0.0


def test_predicate_on_target_and_halfway(env):
    env.reset(seed=3)
    task, scene = env.unwrapped.task, env.unwrapped.scene
    state = env.unwrapped.sim_state()
    start, target = state["objects"]["puck"]["pos"], state["target_pos"]
    z = start[2]
    _put(
        scene, task.puck, start[:2] + 0.6 * (target[:2] - start[:2]), z
    )  # 60% of the way: halfway, not there
    ev = task.evaluate(scene)
    assert ev.stages["halfway"] and not ev.success and ev.progress == pytest.approx(0.75)
    _put(scene, task.puck, target[:2] + np.array([0.02, 0.0]), z)  # inside the success radius
    ev = task.evaluate(scene)
    assert ev.success and ev.progress == 1.0
    _put(scene, task.puck, target[:2], z + 0.2)  # held in the air over the target: not on the table
    assert not task.evaluate(scene).success


def test_target_marker_does_not_collide(env):
    env.reset(seed=0)
    scene = env.unwrapped.scene
    gid = [
        i
        for i in range(scene.sim.model.ngeom)
        if scene.sim.model.geom_bodyid[i] == scene.body_id(env.unwrapped.task.target)
    ]
    assert gid and all(
        scene.sim.model.geom_contype[g] == 0 and scene.sim.model.geom_conaffinity[g] == 0 for g in gid
    )

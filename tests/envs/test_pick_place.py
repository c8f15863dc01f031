"""Pick-and-place family: layout sampling and the in-container success predicate."""

from __future__ import annotations

import numpy as np
import pytest

import envs

TASKS = ("CubeInBowl", "CanInMug", "FruitInBin")


@pytest.fixture(scope="module", params=TASKS)
def env(request):
    e = envs.make(request.param, cameras=())
    yield e
    e.close()


def _evaluate(env):
    u = env.unwrapped
    u.scene.forward()
    return u.task.evaluate(u.scene)


def test_layout_object_and_container_apart(env):
    for seed in range(4):
        _, info = env.reset(seed=seed)
        u = env.unwrapped
        obj, con = u.scene.object_pos(u.task.object), u.scene.object_pos(u.task.container)
        gap = np.linalg.norm(obj[:2] - con[:2])
        assert gap > u.task.container.inner_half_width + 0.02
        assert not info["success"] and info["progress"] == 0.0


def test_object_inside_container_is_success(env):
    env.reset(seed=0)
    u = env.unwrapped
    con = u.scene.object_pos(u.task.container)
    floor_top = con[2] - u.task.container.height / 2 + u.task.container.wall
    u.scene.set_object_pose(u.task.object, con[:2] + 0.01, 0.3, z=floor_top + u.task.half_height + 0.002)
    ev = _evaluate(env)
    assert ev.success and ev.progress == 1.0 and ev.stages["placed"]


def test_object_above_rim_or_beside_is_not_success(env):
    env.reset(seed=0)
    u = env.unwrapped
    con = u.scene.object_pos(u.task.container)
    rim = con[2] + u.task.container.height / 2
    u.scene.set_object_pose(u.task.object, con[:2], 0.0, z=rim + u.task.half_height + 0.02)
    assert not _evaluate(env).success
    beside = con[:2] + np.array([u.task.container.inner_half_width + 0.05, 0.0])
    u.scene.set_object_pose(u.task.object, beside, 0.0)
    assert not _evaluate(env).success


def test_pose_range_variation_is_respected(env):
    e = envs.make(env.unwrapped.task.config.name, cameras=(), variations={"object_pose": {"xy_range": 0.0}})
    for seed in range(3):
        _, info = e.reset(seed=seed)
        assert (
            info["variations"]["object_pose.dx"] == 0.0
            and info["variations"]["object_pose.container_dy"] == 0.0
        )
    e.close()

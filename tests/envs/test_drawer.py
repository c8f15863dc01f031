"""OpenDrawer: the cabinet model (fixed, sliding tray) and the opening predicates (the shared contract, expert
included: test_tasks.py)."""

from __future__ import annotations

import numpy as np
import pytest

import envs

TASK = "OpenDrawer"


@pytest.fixture(scope="module")
def env():
    e = envs.make(TASK, "panda", cameras=())
    yield e
    e.close()


def _open_to(env, opening):
    scene = env.unwrapped.scene
    scene.sim.data.set_joint_qpos(env.unwrapped.task.cabinet.slide_joint, opening)
    scene.forward()
    return env.unwrapped.task.evaluate(scene)


def test_reset_closes_drawer_and_cabinet_stays_put(env):
    env.reset(seed=0)
    _open_to(env, 0.15)
    _, info = env.reset(seed=1)
    state = env.unwrapped.sim_state()["drawer"]
    assert state["opening"] == 0.0 and not info["success"] and info["progress"] == 0.0
    pos = state["cabinet_pos"].copy()
    zero = np.append(env.unwrapped.sim_state()["arm_qpos"], 0.0).astype(np.float32)
    for _ in range(10):
        env.step(zero)
    np.testing.assert_allclose(env.unwrapped.sim_state()["drawer"]["cabinet_pos"], pos)  # fixed to the world


def test_opening_predicates(env):
    env.reset(seed=2)
    ev = _open_to(env, 0.03)
    assert ev.stages["started"] and not ev.stages["half"] and ev.progress == pytest.approx(0.5)
    ev = _open_to(env, 0.08)
    assert ev.stages["half"] and not ev.success and ev.progress == pytest.approx(0.75)
    ev = _open_to(env, 0.13)
    assert ev.success and ev.progress == 1.0


def test_handle_moves_with_the_tray_along_pull_dir(env):
    env.reset(seed=4)
    closed = env.unwrapped.sim_state()["drawer"]
    _open_to(env, 0.1)
    opened = env.unwrapped.sim_state()["drawer"]
    np.testing.assert_allclose(
        opened["handle_pos"] - closed["handle_pos"], 0.1 * closed["pull_dir"], atol=1e-6
    )
    # The privileged handle position is where the handle geom really is.
    scene = env.unwrapped.scene
    gid = scene.sim.model.geom_name2id("cabinet_tray_handle")
    np.testing.assert_allclose(scene.sim.data.geom_xpos[gid], opened["handle_pos"], atol=1e-6)

"""`DroidEnv` rendering on demand: observations without images when off, `last_render_ms` when rendered, and
view states that re-render the live pixels exactly."""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.cameras import DROID_CAMERAS
from envs.experts import make_expert


@pytest.mark.parametrize("embodiment", ["panda", "kinova3"])
def test_rendering_switch_and_view_states(embodiment):
    env = envs.make("Lift", embodiment, cameras=DROID_CAMERAS, image_size=(32, 48))
    try:
        obs, info = env.reset(seed=3)
        assert set(DROID_CAMERAS) <= set(obs) and env.unwrapped.last_render_ms > 0
        expert = make_expert(env.unwrapped)
        expert.reset()
        live, states = [], []
        for t in range(12):
            env.unwrapped.set_camera_rendering(t % 3 == 0)
            obs, _, _, _, info = env.step(expert.act(obs))
            assert "render_ms" not in info  # info stays deterministic (Gymnasium's env checker)
            if t % 3 == 0:
                assert env.unwrapped.last_render_ms > 0 and obs["wrist_image_left"].shape == (32, 48, 3)
                live.append({c: obs[c] for c in DROID_CAMERAS})
            else:
                assert not set(DROID_CAMERAS) & set(obs) and env.unwrapped.last_render_ms is None
                assert obs["joint_position"].shape == (7,)
            states.append(env.unwrapped.view_state())
        again = [env.unwrapped.render_view_state(s) for s in states[::3]]
        assert len(again) == len(live) == 4
        for a, b in zip(live, again, strict=True):
            for cam in DROID_CAMERAS:
                assert np.array_equal(a[cam], b[cam]), cam
        # a view state of an earlier step renders that step, not the current one
        assert not np.array_equal(again[0]["wrist_image_left"], again[-1]["wrist_image_left"])
    finally:
        env.close()

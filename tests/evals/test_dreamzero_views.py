"""Episode views of one DreamZero model are independent episodes even when their calls interleave (what
`evals.run --batch` does with per-episode policies): each computes exactly what it computes alone."""

from __future__ import annotations

import numpy as np
import pytest

from evals.policies.dreamzero import EpisodeView, build_model

CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")


def _obs(step: int, shade: int) -> dict:
    image = np.full((48, 64, 3), (shade + 9 * step) % 256, np.uint8)
    return {
        **{c: image for c in CAMERAS},
        "joint_position": np.full(7, 0.05 * step + shade / 500, np.float32),
        "gripper_position": np.zeros(1, np.float32),
    }


def _alone(model, seed: int, prompt: str, shade: int, calls: int) -> list[np.ndarray]:
    view = EpisodeView(model, seed)
    view.reset(prompt)
    return [view.infer(_obs(t, shade))["actions"] for t in range(calls)]


@pytest.fixture(scope="module")
def model():
    return build_model(config_name="tiny", checkpoint=None, seed=0)


@pytest.mark.slow
def test_interleaved_views_equal_each_view_alone(model):
    calls = 3  # a reset fill, then two later chunks (different KV-cache frame indices)
    want_a = _alone(model, 11, "lift the cube", 40, calls)
    want_b = _alone(model, 12, "open the drawer", 200, calls)
    a, b = EpisodeView(model, 11), EpisodeView(model, 12)
    a.reset("lift the cube")
    got_a = [a.infer(_obs(0, 40))["actions"]]
    b.reset("open the drawer")  # starts while a is mid-episode
    got_b = []
    for t in range(1, calls):
        got_b.append(b.infer(_obs(t - 1, 200))["actions"])
        got_a.append(a.infer(_obs(t, 40))["actions"])
    got_b.append(b.infer(_obs(calls - 1, 200))["actions"])
    for got, want in ((got_a, want_a), (got_b, want_b)):
        for g, w in zip(got, want, strict=True):
            np.testing.assert_array_equal(g, w)
    assert not np.array_equal(want_a[1], want_b[1])  # the two episodes differ: a swap bug would show

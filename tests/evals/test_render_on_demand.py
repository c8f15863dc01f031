"""Rendering on demand on the real envs: the policy sees the very same observations, and failure videos
rendered afterwards from view states are the frames a live recording shows."""

from __future__ import annotations

import numpy as np

from evals.bench_closed_loop import CameraStandIn, episode_spec
from evals.runner.backend import default_backend
from evals.runner.env_cache import EnvCache
from evals.runner.episode import run_episode

SIZE = (48, 64)


class _Recording(CameraStandIn):
    """The benchmark's camera policy, keeping a copy of every observation it is given."""

    def __init__(self, seen: list) -> None:
        super().__init__()
        self.seen = seen

    def infer(self, obs):
        self.seen.append({k: np.array(v) for k, v in obs.items() if k != "prompt"})
        return super().infer(obs)


class _Factory:
    def __init__(self) -> None:
        self.seen: list[dict] = []

    def for_episode(self, env, *, seed, episode_key):
        return _Recording(self.seen)


def _run(steps: int, cache: EnvCache, **kwargs):
    factory = _Factory()
    result = run_episode(episode_spec(steps, image_size=SIZE), factory, env_cache=cache, **kwargs)
    assert result.row["error"] == "", result.row["error"]
    return result, factory.seen


def test_policy_observations_identical_with_and_without_on_demand_rendering():
    cache = EnvCache(default_backend())
    try:
        every, seen_every = _run(20, cache, record_video=False, render_on_demand=False)
        lazy, seen_lazy = _run(20, cache, record_video=False)
    finally:
        cache.close()
    assert len(seen_every) == len(seen_lazy) == 3  # calls at steps 0, 8, 16
    for a, b in zip(seen_every, seen_lazy, strict=True):
        assert sorted(a) == sorted(b) and "wrist_image_left" in a
        for key in a:
            assert a[key].dtype == b[key].dtype and a[key].tobytes() == b[key].tobytes(), key
    assert every.steps["action"][-1].tobytes() == lazy.steps["action"][-1].tobytes()
    assert np.isfinite(lazy.row["render_ms"]) and lazy.row["render_ms"] > 0


def test_failure_video_from_view_states_equals_live_frames_and_stride_counts():
    cache = EnvCache(default_backend())
    try:
        live, _ = _run(12, cache, record_video=True)
        later, _ = _run(12, cache, record_video=False, failure_video=True)
        strided, _ = _run(12, cache, record_video=False, failure_video=True, video_stride=5)
    finally:
        cache.close()
    assert not later.row["success"]  # a 12-step swing does not lift the cube: a failure video
    assert len(live.frames) == len(later.frames) == 13 and live.frames[0].shape == (48, 192, 3)
    for t, (a, b) in enumerate(zip(live.frames, later.frames, strict=True)):
        assert np.array_equal(a, b), f"frame {t} differs"
    assert len(strided.frames) == 3  # views after steps 0, 5, 10
    assert all(np.array_equal(a, b) for a, b in zip(live.frames[::5], strided.frames, strict=True))

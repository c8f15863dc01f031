"""Which observations of an episode need camera images, so the env renders only those (on demand).

Rendering three 180x320 views costs several times the physics of a control step, and with an open-loop
horizon of 8 the policy reads one observation in eight. An episode renders the observation before each policy
call (the adapter's `will_call`), its live video frames and, with `--dataset`, every step. Failure-only videos
record the env's view state per frame instead (`envs.view_state`) and render a failed episode's frames
afterwards: the same pixels as live, without rendering the successful episodes at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from evals.contract.adapter import ChunkedPolicyWrapper


@dataclass(frozen=True)
class RenderPlan:
    """The rendering decisions of one episode on one env."""

    env: Any
    video_cams: tuple[str, ...]  # cameras tiled into the video ((): no video)
    live_video: bool  # video frames are rendered during the episode (else from view states, or no video)
    every_step: bool  # render every step (--dataset)
    on_demand: bool  # the env can skip rendering (`set_camera_rendering`); False: it renders every step
    policy_reads: bool  # the policy asks for cameras (metadata.cameras), so its calls need images
    stride: int = 1  # video frames: the reset view and every stride-th step's view

    def is_frame(self, t: int) -> bool:
        """Step `t`'s view (t = 0: the reset view) is a video frame."""
        return bool(self.video_cams) and t % self.stride == 0

    def set_rendering(self, wrapper: ChunkedPolicyWrapper, t: int) -> None:
        """Before the reset (t = 0) or step that yields step `t`'s observation: render it if someone reads it."""
        if self.on_demand:
            live_frame = self.live_video and self.is_frame(t)
            call = self.policy_reads and wrapper.will_call()
            self.env.unwrapped.set_camera_rendering(self.every_step or live_frame or call)


def restore_rendering(env: Any) -> None:
    """Leave a (cached) env rendering every observation again, as `envs.make` built it."""
    if env is not None and hasattr(env.unwrapped, "set_camera_rendering"):
        env.unwrapped.set_camera_rendering(True)


def make_plan(
    env: Any,
    video_cams: tuple[str, ...],
    *,
    policy_cams: tuple[str, ...],
    record_video: bool,
    stride: int,
    every_step: bool,
) -> RenderPlan:
    """The plan for `env`: live frames for `record_video` or an env that records no view states."""
    if stride < 1:
        raise ValueError(f"video stride must be >= 1, got {stride}")
    unwrapped = env.unwrapped
    live = bool(video_cams) and (record_video or not hasattr(unwrapped, "view_state"))
    on_demand = hasattr(unwrapped, "set_camera_rendering")
    return RenderPlan(env, tuple(video_cams), live, every_step, on_demand, bool(policy_cams), stride)


def rerender(env: Any, states: list[Any], cameras: tuple[str, ...]) -> tuple[list[np.ndarray], list[float]]:
    """Tiled frames of `cameras` rendered from recorded view states, and each render's time in ms."""
    frames, times = [], []
    for state in states:
        t0 = time.perf_counter()
        images = env.unwrapped.render_view_state(state)
        times.append((time.perf_counter() - t0) * 1e3)
        frames.append(np.concatenate([np.asarray(images[c]) for c in cameras], axis=1))
    return frames, times

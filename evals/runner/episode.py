"""The episode loop: reset the env with the spec's seed, step it with the chunked policy, record everything.

Any exception from the env or the policy is caught and recorded on the episode (termination "error");
`KeyboardInterrupt` is not caught, so Ctrl-C still stops the run.

Cameras are rendered on demand: only for the observation before a policy call (the adapter says when), for
live video frames and for `--dataset` (every step). With `failure_video`, the episode records the env's view
state at every video frame instead, and a failed episode's frames are rendered from those afterwards (the
same pixels as live; see `envs.view_state`). Video frames are the reset view and every `video_stride`-th
step's view after it.

The steps (`open_episode`, `start_rollout`, `advance`, `finish_video`, `episode_result`) are shared with the
batched loop (`evals.runner.batched`).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evals.contract.adapter import ChunkedPolicyWrapper
from evals.dataset.capture import DatasetCapture, EpisodeRecording
from evals.dataset.options import DatasetOptions
from evals.runner.backend import default_backend
from evals.runner.columns import STEP_SCHEMA
from evals.runner.env_cache import EnvCache
from evals.runner.render_plan import RenderPlan, make_plan, rerender, restore_rendering
from evals.runner.spec import EpisodeSpec


@dataclass
class EpisodeResult:
    spec: EpisodeSpec
    row: dict[str, Any]  # one episodes.parquet row (without the `policy` and `video` columns)
    steps: dict[str, list[Any]]  # steps.parquet columns for this episode
    variations: dict[str, Any] = field(default_factory=dict)  # info["variations"] at reset
    frames: list[np.ndarray] | None = None  # tiled camera views per step (record_video only)
    dataset: EpisodeRecording | None = None  # what `--dataset` records of this episode
    # The arm's (low, high) joint limits from the env's spec_info, recorded in run.json per embodiment so
    # that trajectory analysis never needs the simulator; None when the env was never built.
    joint_limits: tuple[list[float], list[float]] | None = None

    @property
    def failed(self) -> bool:
        return not self.row["success"]


def error_result(spec: EpisodeSpec, message: str, error_type: str) -> EpisodeResult:
    """An episode that produced no steps (e.g. its worker process died)."""
    row = _row(
        spec,
        steps=0,
        success=False,
        success_any=False,
        progress=[],
        wall=float("nan"),
        calls=0,
        latencies=[],
        env_ms=[],
        render_ms=[],
        reason="error",
        error=message,
        error_type=error_type,
        control_freq=spec.control_freq,
    )
    row["video"] = ""
    return EpisodeResult(spec, row, {})


def _row(
    spec: EpisodeSpec,
    *,
    steps: int,
    success: bool,
    success_any: bool,
    progress: list[float],
    wall: float,
    calls: int,
    latencies: list[float],
    env_ms: list[float],
    render_ms: list[float],
    reason: str,
    error: str,
    error_type: str,
    control_freq: int,
) -> dict[str, Any]:
    return {
        "case_id": spec.case_id,
        "task": spec.task,
        "embodiment": spec.embodiment,
        "instruction": spec.instruction,
        "seed": spec.seed,
        "env_seed": spec.env_seed,
        "success": success,
        "success_any": success_any,
        "final_progress": progress[-1] if progress else 0.0,
        "max_progress": max(progress) if progress else 0.0,
        "steps": steps,
        "sim_seconds": steps / control_freq,
        "wall_seconds": wall,
        "policy_calls": calls,
        "policy_latency_p50_ms": _percentile(latencies, 50),
        "policy_latency_p95_ms": _percentile(latencies, 95),
        "policy_latency_max_ms": max(latencies) if latencies else float("nan"),
        "env_step_ms": float(np.mean(env_ms)) if env_ms else float("nan"),
        "render_ms": float(np.mean(render_ms)) if render_ms else float("nan"),
        "termination_reason": reason,
        "error": error,
        "error_type": error_type,
        "tags": list(spec.tags),
    }


def _union(*groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for g in groups for c in g))


def tile_cameras(obs: dict[str, Any], cameras: tuple[str, ...]) -> np.ndarray | None:
    """All camera views side by side (uint8 H x sum(W) x 3), or None when no camera is in `obs`."""
    views = [np.asarray(obs[c]) for c in cameras if c in obs]
    return np.concatenate(views, axis=1) if views else None


def _build(spec: EpisodeSpec, factory: Any, cache: EnvCache, video_cams: tuple[str, ...]):
    """Env + policy for one episode, rendering only the cameras the policy or the video needs."""
    cams = _union(cache.policy_cameras or (), video_cams)
    env = cache.get(spec, cams)
    policy = factory.for_episode(env, seed=spec.env_seed, episode_key=spec.episode_key)
    needed = policy.metadata.cameras
    if cache.policy_cameras is None:
        cache.policy_cameras = needed
    if not set(needed) <= set(cams):
        cams = _union(needed, video_cams)
        env = cache.get(spec, cams)
        policy = factory.for_episode(env, seed=spec.env_seed, episode_key=spec.episode_key)
    wanted_space = policy.metadata.action_space
    if wanted_space and wanted_space != spec.action_space:
        raise ValueError(
            f"policy acts in {wanted_space!r} but case {spec.case_id!r} uses {spec.action_space!r}"
        )
    return env, policy, cams


def env_joint_limits(env: Any) -> tuple[list[float], list[float]] | None:
    """The env's `spec_info["joint_limits"]` as plain float lists (None when the env does not say)."""
    limits = getattr(env.unwrapped, "spec_info", {}).get("joint_limits")
    if limits is None:
        return None
    low, high = limits
    return np.asarray(low, np.float64).tolist(), np.asarray(high, np.float64).tolist()


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


@dataclass
class _Trace:
    """What one episode produced so far: the step columns, per-step timings, outcome flags, frames."""

    frames: list[np.ndarray] | None
    variations: dict[str, Any] = field(default_factory=dict)  # info["variations"] at reset
    # Per-episode step columns; the recorder adds the episode key (case_id, seed).
    steps: dict[str, list[Any]] = field(
        default_factory=lambda: {n: [] for n in STEP_SCHEMA.names if n not in ("case_id", "seed")}
    )
    env_ms: list[float] = field(default_factory=list)
    render_ms: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    success: bool = False
    success_any: bool = False
    dataset: DatasetCapture | None = None  # `--dataset`: observation + clean label of every step
    view_states: list[Any] | None = None  # failure_video: the env's view state at every video frame

    def add_frame(self, obs: dict[str, Any], cameras: tuple[str, ...]) -> None:
        if self.frames is not None and (tile := tile_cameras(obs, cameras)) is not None:
            self.frames.append(tile)

    def add_render_time(self, env: Any, info: dict[str, Any]) -> None:
        """The render time of the latest observation: `info["render_ms"]` or the env's `last_render_ms`."""
        value = info.get("render_ms", getattr(env.unwrapped, "last_render_ms", None))
        if value is not None:
            self.render_ms.append(float(value))

    def add_view(self, view: RenderPlan, t: int, obs: dict[str, Any]) -> None:
        """Keep step `t`'s view (the reset view is t = 0) if it is a video frame: live pixels or view state."""
        if not view.is_frame(t):
            return
        if self.view_states is not None:
            self.view_states.append(view.env.unwrapped.view_state())
        self.add_frame(obs, view.video_cams)

    def add_step(self, t: int, obs: dict[str, Any], action: Any, step_info: Any, outcome: tuple) -> None:
        """Record step `t`: the observed state `obs` the action was chosen from, and what env.step returned."""
        reward, info, env_ms = outcome
        if self.dataset is not None:  # the label is the clean action when the policy gave one (noisy expert)
            self.dataset.add(obs, action if step_info.label is None else step_info.label)
        self.env_ms.append(env_ms)
        self.success = bool(info["success"])
        self.success_any = self.success_any or self.success
        self.progress.append(float(info["progress"]))
        called = bool(step_info.policy_called)
        if called and step_info.latency_ms is not None:
            self.latencies.append(float(step_info.latency_ms))
        steps = self.steps
        steps["step"].append(t)
        steps["chunk_index"].append(int(step_info.chunk_index))
        steps["pos_in_chunk"].append(int(step_info.pos_in_chunk))
        steps["action"].append(np.asarray(action, np.float32).reshape(-1))
        steps["joint_position"].append(np.asarray(obs["joint_position"], np.float32).reshape(-1))
        steps["gripper_position"].append(
            float(np.asarray(obs["gripper_position"], np.float32).reshape(-1)[0])
        )
        steps["reward"].append(float(reward))
        steps["progress"].append(self.progress[-1])
        steps["success"].append(self.success)
        steps["policy_called"].append(called)
        steps["policy_latency_ms"].append(step_info.latency_ms if called else None)
        timing = step_info.timing if called else None
        steps["policy_timing"].append(json.dumps(timing, sort_keys=True) if timing else None)


@dataclass(frozen=True)
class VideoRequest:
    """What an episode's video needs: live frames (`record`, `--video all`), frames of a failure rendered
    afterwards (`failures`), every `stride`-th step; `on_demand=False` renders every step (benchmarks)."""

    record: bool = False
    failures: bool = False
    stride: int = 1
    on_demand: bool = True


@dataclass(frozen=True)
class OpenedEpisode:
    """An episode's env and policy, its rendering plan, and what its result needs to know of the env."""

    env: Any
    policy: Any
    cameras: tuple[str, ...]  # the cameras the env renders
    view: RenderPlan
    control_freq: int
    joint_limits: tuple[list[float], list[float]] | None


def new_trace(dataset: DatasetOptions | None) -> _Trace:
    """An empty trace (frames decided by `open_episode`), with a dataset capture under `--dataset`."""
    return _Trace(frames=None, dataset=DatasetCapture(dataset) if dataset is not None else None)


def open_episode(
    spec: EpisodeSpec,
    factory: Any,
    cache: EnvCache,
    trace: _Trace,
    dataset: DatasetOptions | None,
    video: VideoRequest,
) -> OpenedEpisode:
    """Build (or reuse) the env and build the policy for `spec`, and plan its rendering; may raise (recorded
    on the episode)."""
    video_cams = spec.cameras if video.record or video.failures else ()
    render_cams = _union(video_cams, dataset.cameras) if dataset is not None else video_cams
    env, policy, cams = _build(spec, factory, cache, render_cams)
    view = make_plan(
        env,
        video_cams,
        policy_cams=tuple(policy.metadata.cameras),
        record_video=video.record,
        stride=video.stride,
        every_step=dataset is not None or not video.on_demand,
    )
    trace.frames = [] if view.live_video else None
    trace.view_states = [] if video_cams and not view.live_video else None
    control_freq = int(getattr(env.unwrapped, "spec_info", {}).get("control_freq", spec.control_freq))
    return OpenedEpisode(env, policy, cams, view, control_freq, env_joint_limits(env))


def start_rollout(
    spec: EpisodeSpec, opened: OpenedEpisode, policy: Any, trace: _Trace
) -> tuple[dict[str, Any], ChunkedPolicyWrapper]:
    """Reset the env with the spec's env seed, then the policy (through its chunk wrapper) with the
    instruction; return the first observation and the wrapper. The env goes first: a policy may read the
    episode's scene when it resets (the scripted expert plans from it)."""
    env = opened.env
    wrapper = ChunkedPolicyWrapper(
        policy,
        open_loop_horizon=spec.open_loop_horizon,
        action_low=env.action_space.low,
        action_high=env.action_space.high,
    )
    opened.view.set_rendering(wrapper, 0)  # a fresh wrapper calls at step 0: render the reset view for it
    obs, info = env.reset(seed=spec.env_seed)
    wrapper.reset(spec.instruction)
    trace.variations = dict(info.get("variations") or {})
    trace.add_view(opened.view, 0, obs)
    trace.add_render_time(env, info)
    return obs, wrapper


def advance(
    spec: EpisodeSpec,
    opened: OpenedEpisode,
    wrapper: ChunkedPolicyWrapper,
    trace: _Trace,
    step: tuple[int, dict[str, Any], Any, Any],
) -> tuple[dict[str, Any], str | None]:
    """`step` = (t, obs, action chosen from obs, its step info): send the action, record it; return the next
    observation and why the episode ended ("success", "horizon" on truncation), or None when it goes on."""
    t, obs, action, step_info = step
    env = opened.env
    opened.view.set_rendering(wrapper, t + 1)  # after `act`: the wrapper knows whether t + 1 is a call
    t0 = time.perf_counter()
    next_obs, reward, terminated, truncated, info = env.step(action)
    trace.add_step(t, obs, action, step_info, (reward, info, (time.perf_counter() - t0) * 1e3))
    trace.add_render_time(env, info)
    trace.add_view(opened.view, t + 1, next_obs)
    if terminated and trace.success and spec.stop_on_success:
        return next_obs, "success"
    return next_obs, "horizon" if truncated else None


def _rollout(spec: EpisodeSpec, opened: OpenedEpisode, trace: _Trace) -> str:
    """Reset with the spec's env seed and step until success, truncation or the horizon; return why it ended."""
    obs, wrapper = start_rollout(spec, opened, opened.policy, trace)
    for t in range(spec.horizon):
        action, step_info = wrapper.act({**obs, "prompt": spec.instruction})
        obs, ended = advance(spec, opened, wrapper, trace, (t, obs, action, step_info))
        if ended is not None:
            return ended
    return "horizon"


def finish_video(opened: OpenedEpisode | None, trace: _Trace, failed: bool) -> None:
    """A failed (or errored) episode's video frames, rendered from its recorded view states (same pixels as
    live); then the env renders every observation again (it may be reused from the cache)."""
    if opened is None:
        return
    if failed and trace.view_states:
        with contextlib.suppress(Exception):  # a broken render loses the video, never the episode
            trace.frames, times = rerender(opened.env, trace.view_states, opened.view.video_cams)
            trace.render_ms.extend(times)
    restore_rendering(opened.env)


def discard_env(
    cache: EnvCache, spec: EpisodeSpec, opened: OpenedEpisode | None, video: VideoRequest
) -> None:
    """Drop the episode's env from the cache after an exception (its state may be broken)."""
    video_cams = spec.cameras if video.record or video.failures else ()
    cache.discard(spec, opened.cameras if opened is not None else video_cams)


def error_fields(exc: Exception) -> tuple[str, str, str]:
    """(termination reason, error message, error type) recorded for an episode that raised `exc`."""
    return "error", (str(exc) or repr(exc)).strip(), type(exc).__name__


def episode_result(
    spec: EpisodeSpec,
    trace: _Trace,
    ending: tuple[str, str, str],
    *,
    wall: float,
    opened: OpenedEpisode | None,
) -> EpisodeResult:
    """The finished episode: its episodes.parquet row, step columns, frames and dataset recording.
    `ending` is (termination reason, error, error type); `opened` is None when the env was never built."""
    reason, error, error_type = ending
    row = _row(
        spec,
        steps=len(trace.steps["step"]),
        success=trace.success and reason != "error",
        success_any=trace.success_any,
        progress=trace.progress,
        wall=wall,
        calls=int(sum(trace.steps["policy_called"])),
        latencies=trace.latencies,
        env_ms=trace.env_ms,
        render_ms=trace.render_ms,
        reason=reason,
        error=error,
        error_type=error_type,
        control_freq=spec.control_freq if opened is None else opened.control_freq,
    )
    recording = trace.dataset.recording() if trace.dataset is not None else None
    limits = None if opened is None else opened.joint_limits
    return EpisodeResult(spec, row, trace.steps, trace.variations, trace.frames, recording, limits)


def run_episode(
    spec: EpisodeSpec,
    policy_factory: Any,
    *,
    record_video: bool,
    failure_video: bool = False,
    video_stride: int = 1,
    render_on_demand: bool = True,
    env_cache: EnvCache | None = None,
    dataset: DatasetOptions | None = None,
) -> EpisodeResult:
    """Run one episode. `record_video` renders `spec.cameras` live and returns the tiled frames (the reset
    view and every `video_stride`-th step); `failure_video` returns the same frames only when the episode
    failed, rendered afterwards from recorded view states. `dataset` also renders the dataset's cameras at
    every step and returns the episode's recording (clean labels as actions). `render_on_demand=False`
    renders every step's cameras, as the runner did before (for benchmarks and comparisons)."""
    video = VideoRequest(record_video, failure_video, video_stride, render_on_demand)
    cache = env_cache if env_cache is not None else EnvCache(default_backend())
    t_start = time.perf_counter()
    trace = new_trace(dataset)
    ending = ("horizon", "", "")
    opened = None
    try:
        opened = open_episode(spec, policy_factory, cache, trace, dataset, video)
        ending = (_rollout(spec, opened, trace), "", "")
        finish_video(opened, trace, failed=not trace.success)
    except Exception as exc:  # recorded on the episode; the run goes on
        ending = error_fields(exc)
        finish_video(opened, trace, failed=True)  # an errored episode's video still shows what happened
        discard_env(cache, spec, opened, video)
    finally:
        if env_cache is None:
            cache.close()
    return episode_result(spec, trace, ending, wall=time.perf_counter() - t_start, opened=opened)

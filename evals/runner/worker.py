"""`EpisodeWorker`: what one worker process owns (a `PolicyFactory`, its envs) and how it runs one episode
under the run's video mode, writing the MP4 itself so frames never cross process boundaries.

`--video failures` renders no video frame during the episode: it records the env's view states, and only a
failed episode's frames are rendered from them afterwards (`evals.runner.render_plan`). An env that cannot
record view states renders the frames live and drops them when the episode succeeds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.dataset.options import DatasetOptions
from evals.runner.backend import EnvBackend
from evals.runner.env_cache import EnvCache
from evals.runner.episode import EpisodeResult, run_episode
from evals.runner.plan import VIDEO_MODES, PolicySpec
from evals.runner.spec import EpisodeSpec
from evals.runner.video import write_video


def build_policy_factory(spec: str, *, checkpoint: str | None = None, options: dict | None = None) -> Any:
    """The production policy builder: `evals.policies.PolicyFactory.from_spec` (imported lazily)."""
    from evals.policies import PolicyFactory

    return PolicyFactory.from_spec(spec, checkpoint=checkpoint, options=options)


@dataclass(frozen=True)
class JobConfig:
    """Everything a worker needs; picklable (functions are module-level) so `spawn` workers receive it."""

    backend: EnvBackend
    policy: PolicySpec
    video: str = "failures"
    video_stride: int = 1  # a video keeps the reset view and every video_stride-th step
    run_dir: str | None = None  # videos go to <run_dir>/videos/; None disables writing them
    policy_builder: Callable[..., Any] = build_policy_factory
    dataset: DatasetOptions | None = None  # `--dataset`: render its cameras, return each episode's recording


def trajectories_match(a: EpisodeResult, b: EpisodeResult) -> bool:
    """Same number of steps and bit-identical actions (two runs of one episode are the same rollout)."""
    if len(a.steps["action"]) != len(b.steps["action"]):
        return False
    return all(np.array_equal(x, y) for x, y in zip(a.steps["action"], b.steps["action"], strict=True))


class EpisodeWorker:
    def __init__(self, config: JobConfig, factory: Any | None = None):
        if config.video not in VIDEO_MODES:
            raise ValueError(f"video mode must be one of {VIDEO_MODES}, got {config.video!r}")
        self.config = config
        self.factory = (
            factory
            if factory is not None
            else config.policy_builder(
                config.policy.spec, checkpoint=config.policy.checkpoint, options=dict(config.policy.options)
            )
        )
        self.cache = EnvCache(config.backend)

    def _run(self, spec: EpisodeSpec) -> EpisodeResult:
        mode, writes = self.config.video, bool(spec.cameras) and self.config.run_dir is not None
        result = run_episode(
            spec,
            self.factory,
            record_video=writes and mode == "all",
            failure_video=writes and mode == "failures",
            video_stride=self.config.video_stride,
            env_cache=self.cache,
            dataset=self.config.dataset,
        )
        if mode == "failures" and not result.failed:
            result.frames = None
        return result

    def run(self, spec: EpisodeSpec) -> EpisodeResult:
        """Run one episode; write its video if it has frames; return it without frames (with its dataset
        recording, if any: the driver writes the dataset)."""
        result = self._run(spec)
        result.row["video"] = ""
        if result.frames:
            rel = f"videos/{spec.name}.mp4"
            try:
                write_video(
                    Path(self.config.run_dir) / rel,
                    result.frames,
                    spec.instruction,
                    spec.control_freq,
                    stride=self.config.video_stride,
                )
                result.row["video"] = rel
            except Exception as exc:  # a broken encoder must not lose the episode's results
                print(
                    f"warning: {spec.name}: video not written ({type(exc).__name__}: {exc})", file=sys.stderr
                )
        result.frames = None
        return result

    def close(self) -> None:
        self.cache.close()
        close = getattr(self.factory, "close", None)
        if close is not None:
            close()

"""`EpisodeWorker`: what one worker process owns (a `PolicyFactory`, its envs) and how it runs one episode
under the run's video mode. A local worker writes the MP4 itself so frames never cross process boundaries;
a Ray worker (`run_detached`) returns the encoded MP4 bytes instead and the driver writes them
(`store_video`), since hosts of a cluster share no file system.

`--video failures` with a state-only policy runs the episode without cameras (rendering costs ~20x physics
on CPU) and, only when it failed, re-runs the same deterministic episode with cameras to record it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evals.dataset.options import DatasetOptions
from evals.runner.backend import EnvBackend
from evals.runner.batched import BatchedEpisodes
from evals.runner.env_cache import EnvCache
from evals.runner.episode import EpisodeResult, run_episode
from evals.runner.plan import VIDEO_MODES, PolicySpec
from evals.runner.recorder import write_atomic
from evals.runner.spec import EpisodeSpec
from evals.runner.video import encode_video, write_video


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
    run_dir: str | None = None  # videos go to <run_dir>/videos/; None disables writing them
    policy_builder: Callable[..., Any] = build_policy_factory
    dataset: DatasetOptions | None = None  # `--dataset`: render its cameras, return each episode's recording
    batch: int = 1  # `--batch`: episodes run side by side in this worker, their due chunks in one policy call


def trajectories_match(a: EpisodeResult, b: EpisodeResult) -> bool:
    """Same number of steps and bit-identical actions (used to validate the video re-run)."""
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
        self.replay_mismatches = 0
        self._batched: BatchedEpisodes | None = None  # built on the first `run_batched`

    def _records_video(self, spec: EpisodeSpec) -> bool:
        """`--video all`: render the video's cameras from the start."""
        return self.config.video == "all" and bool(spec.cameras) and self.config.run_dir is not None

    def _run(self, spec: EpisodeSpec) -> EpisodeResult:
        record = self._records_video(spec)
        result = run_episode(
            spec, self.factory, record_video=record, env_cache=self.cache, dataset=self.config.dataset
        )
        return result if record else self._failure_video(spec, result)

    def _failure_video(self, spec: EpisodeSpec, result: EpisodeResult) -> EpisodeResult:
        """Keep frames only for `--video failures` of a failed episode; re-run it with cameras when the
        policy rendered none (state-only policies)."""
        if (
            self.config.video != "failures"
            or not result.failed
            or not spec.cameras
            or self.config.run_dir is None
        ):
            result.frames = None
        elif not result.frames:  # state-only policy: nothing was rendered, re-run with cameras
            replay = run_episode(spec, self.factory, record_video=True, env_cache=self.cache)
            if not trajectories_match(result, replay):
                # The video would show a different rollout than the recorded one; say so, keep the video.
                self.replay_mismatches += 1
                print(
                    f"warning: {spec.name}: video re-run diverged from the recorded episode", file=sys.stderr
                )
            result.frames = replay.frames
        return result

    def run(self, spec: EpisodeSpec) -> EpisodeResult:
        """Run one episode; write its video if it has frames; return it without frames (with its dataset
        recording, if any: the driver writes the dataset)."""
        return self._written(self._run(spec))

    def run_batched(self, specs: Iterable[EpisodeSpec]) -> Iterator[EpisodeResult]:
        """Run `specs` `config.batch` at a time (continuous batching, see `evals.runner.batched`), reading
        the next spec only when a slot frees; yield each result as `run` returns it, in completion order."""
        if self._batched is None:
            caches = [EnvCache(self.config.backend) for _ in range(self.config.batch)]
            self._batched = BatchedEpisodes(self.factory, caches, self.config.dataset)
        for result in self._batched.run(specs, self._records_video):
            if not self._records_video(result.spec):
                result = self._failure_video(result.spec, result)
            yield self._written(result)

    def _written(self, result: EpisodeResult) -> EpisodeResult:
        """Write the result's video if it has frames; return it without frames."""
        spec = result.spec
        result.row["video"] = ""
        if result.frames:
            rel = video_path(spec)
            try:
                write_video(
                    Path(self.config.run_dir) / rel, result.frames, spec.instruction, spec.control_freq
                )
                result.row["video"] = rel
            except Exception as exc:  # a broken encoder must not lose the episode's results
                print(
                    f"warning: {spec.name}: video not written ({type(exc).__name__}: {exc})", file=sys.stderr
                )
        result.frames = None
        return result

    def run_detached(self, spec: EpisodeSpec) -> tuple[EpisodeResult, bytes | None]:
        """Run one episode without touching the run directory: (the result without frames, with `video`
        still empty; its MP4 as bytes, or None)."""
        result = self._run(spec)
        result.row["video"] = ""
        data = None
        if result.frames:
            try:
                data = encode_video(result.frames, spec.instruction, spec.control_freq)
            except Exception as exc:  # a broken encoder must not lose the episode's results
                print(
                    f"warning: {spec.name}: video not encoded ({type(exc).__name__}: {exc})", file=sys.stderr
                )
        result.frames = None
        return result, data

    def close_envs(self) -> None:
        """Close every env this worker holds."""
        self.cache.close()
        for cache in self._batched.caches if self._batched is not None else ():
            cache.close()

    def close(self) -> None:
        self.close_envs()
        close = getattr(self.factory, "close", None)
        if close is not None:
            close()


def video_path(spec: EpisodeSpec) -> str:
    """Where an episode's MP4 goes, relative to the run directory (the `video` column)."""
    return f"videos/{spec.name}.mp4"


def store_video(run_dir: str | Path, result: EpisodeResult, data: bytes) -> None:
    """Driver side of `run_detached`: write the MP4 bytes atomically into the run directory, set `video`."""
    rel = video_path(result.spec)
    path = Path(run_dir) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, data)
    result.row["video"] = rel

"""`EpisodeWorker`: what one worker process owns (a `PolicyFactory`, its envs) and how it runs one episode
under the run's video mode. A local worker writes the MP4 itself so frames never cross process boundaries;
a Ray worker (`run_detached`) returns the encoded MP4 bytes instead and the driver writes them
(`store_video`), since hosts of a cluster share no file system.

`--video failures` renders no video frame during the episode: it records the env's view states, and only a
failed episode's frames are rendered from them afterwards (`evals.runner.render_plan`). An env that cannot
record view states renders the frames live and drops them when the episode succeeds.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.dataset.options import DatasetOptions
from evals.runner.backend import EnvBackend
from evals.runner.batched import BatchedEpisodes
from evals.runner.env_cache import EnvCache
from evals.runner.episode import EpisodeResult, VideoRequest, run_episode
from evals.runner.plan import VIDEO_MODES, PolicySpec
from evals.runner.recorder import write_atomic
from evals.runner.spec import EpisodeSpec
from evals.runner.video import encode_video


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
    batch: int = 1  # `--batch`: episodes run side by side in this worker, their due chunks in one policy call


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
        self._batched: BatchedEpisodes | None = None  # built on the first `run_batched`

    def _video(self, spec: EpisodeSpec) -> VideoRequest:
        """The episode's video: live frames under `--video all`, failures rendered afterwards under
        `--video failures` (from recorded view states: no re-run), none without cameras or a run dir."""
        mode, writes = self.config.video, bool(spec.cameras) and self.config.run_dir is not None
        return VideoRequest(
            record=writes and mode == "all",
            failures=writes and mode == "failures",
            stride=self.config.video_stride,
        )

    def _run(self, spec: EpisodeSpec) -> EpisodeResult:
        video = self._video(spec)
        result = run_episode(
            spec,
            self.factory,
            record_video=video.record,
            failure_video=video.failures,
            video_stride=video.stride,
            env_cache=self.cache,
            dataset=self.config.dataset,
        )
        return self._kept_frames(result)

    def _kept_frames(self, result: EpisodeResult) -> EpisodeResult:
        """Under `--video failures` a successful episode keeps no frames."""
        if self.config.video == "failures" and not result.failed:
            result.frames = None
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
        for result in self._batched.run(specs, self._video):
            yield self._written(self._kept_frames(result))

    def _written(self, result: EpisodeResult) -> EpisodeResult:
        """Write the result's video into the run directory if it has frames; return it without frames."""
        data = self._encoded(result)
        if data is not None:
            try:
                store_video(self.config.run_dir, result, data)
            except OSError as exc:  # a full disk must not lose the episode's results
                print(f"warning: {result.spec.name}: video not written ({exc})", file=sys.stderr)
        return result

    def run_detached(self, spec: EpisodeSpec) -> tuple[EpisodeResult, bytes | None]:
        """Run one episode without touching the run directory: (the result without frames, with `video`
        still empty; its MP4 as bytes, or None)."""
        result = self._run(spec)
        return result, self._encoded(result)

    def _encoded(self, result: EpisodeResult) -> bytes | None:
        """The result's MP4 bytes (None without frames, or when encoding fails: a broken encoder must not
        lose the episode's results); leaves the result without frames and with an empty `video`."""
        frames, result.frames, result.row["video"] = result.frames, None, ""
        if not frames:
            return None
        spec = result.spec
        try:
            return encode_video(frames, spec.instruction, spec.control_freq, stride=self.config.video_stride)
        except Exception as exc:
            print(f"warning: {spec.name}: video not encoded ({type(exc).__name__}: {exc})", file=sys.stderr)
            return None

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

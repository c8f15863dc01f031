"""`DatasetSink`: the driver-side end of ``--dataset``: hands finished episodes to the writer in episode order.

Workers finish episodes in any order; the sink holds results until every earlier episode of the run has
arrived, so the dataset's episode indices (and thus its validation split) do not depend on ``--workers``.
"""

from __future__ import annotations

import sys
from typing import Any

from evals.dataset.lerobot_writer import DatasetWriter
from evals.dataset.options import DatasetOptions


class DatasetSink:
    def __init__(self, options: DatasetOptions, specs: list[Any], fps: int) -> None:
        self.writer = DatasetWriter(
            options.root,
            fps=fps,
            cameras=options.cameras,
            size=options.size,
            keep_failures=options.keep_all,
            val_fraction=options.val_fraction,
        )
        self._order = {(s.case_id, s.seed): i for i, s in enumerate(specs)}
        self._waiting: dict[int, Any] = {}
        self._next = 0

    def add(self, result: Any) -> None:
        """Take one finished episode (an ``EpisodeResult``); write every episode now due, in order."""
        self._waiting[self._order[(result.spec.case_id, result.spec.seed)]] = result
        while self._next in self._waiting:
            self._write(self._waiting.pop(self._next))
            self._next += 1

    def _write(self, result: Any) -> None:
        recording = result.dataset
        if recording is None or len(recording) == 0:
            return  # an episode that errored before its first step
        spec = result.spec
        self.writer.add_episode(
            recording.frames,
            recording.state,
            recording.action,
            task=spec.instruction,
            embodiment=spec.embodiment,
            success=bool(result.row["success"]),
            extra={"case_id": spec.case_id, "seed": int(spec.seed), "env_seed": int(spec.env_seed)},
        )

    def close(self) -> dict[str, Any]:
        """Write what is still held (an interrupted run leaves gaps) in order, then the metadata."""
        for key in sorted(self._waiting):
            self._write(self._waiting.pop(key))
        info = self.writer.close()
        print(
            f"dataset: {info['total_episodes']} episodes, {info['total_frames']} frames -> {self.writer.root}",
            file=sys.stderr,
        )
        return info

"""Action/state min-max normalisation to [-1, 1] (upstream ``StateActionTransform`` "min_max" mode).

The model sees the DROID state (7 joint positions + gripper) scaled to [-1, 1] per dimension and predicts
actions in the same space; the policy maps them back with the checkpoint's statistics. Statistics live
in ``normalization.json`` next to the converted checkpoint::

    {"state": {"min": [8 floats], "max": [8 floats]}, "action": {"min": [...], "max": [...]}}

Without a checkpoint (random weights) :func:`default_stats` is used: the Franka Panda joint limits for
the 7 joints (the robot DROID and our simulated scenes use) and [0, 1] for the gripper, for both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STATS_FILE = "normalization.json"
# Franka Panda joint limits (rad), from the manufacturer's datasheet; gripper position is in [0, 1].
PANDA_JOINT_MIN = (-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973)
PANDA_JOINT_MAX = (2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973)


@dataclass(frozen=True)
class MinMax:
    """Per-dimension bounds; ``normalize`` maps [min, max] to [-1, 1] and ``denormalize`` back."""

    low: np.ndarray
    high: np.ndarray

    def __post_init__(self):
        if self.low.shape != self.high.shape or self.low.ndim != 1:
            raise ValueError(
                f"min/max must be equal-length vectors, got {self.low.shape} and {self.high.shape}"
            )

    @property
    def span(self) -> np.ndarray:
        # a constant dimension (max == min) maps to -1 instead of dividing by zero
        return np.where(self.high > self.low, self.high - self.low, 1.0)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (2.0 * (np.asarray(x, np.float64) - self.low) / self.span - 1.0).astype(np.float32)

    def denormalize(self, x: np.ndarray) -> np.ndarray:
        return ((np.asarray(x, np.float64) + 1.0) * 0.5 * self.span + self.low).astype(np.float32)

    @classmethod
    def from_json(cls, entry: dict) -> MinMax:
        return cls(np.asarray(entry["min"], np.float64), np.asarray(entry["max"], np.float64))

    def to_json(self) -> dict:
        return {"min": self.low.tolist(), "max": self.high.tolist()}


@dataclass(frozen=True)
class NormStats:
    """State and action statistics of one checkpoint."""

    state: MinMax
    action: MinMax

    @classmethod
    def load(cls, path: str | Path) -> NormStats:
        """Read ``normalization.json`` (a file, or a checkpoint directory holding one)."""
        path = Path(path)
        if path.is_dir():
            path = path / STATS_FILE
        if not path.is_file():
            raise FileNotFoundError(
                f"no normalisation statistics at {path} (write {STATS_FILE} beside the checkpoint)"
            )
        data = json.loads(path.read_text())
        return cls(MinMax.from_json(data["state"]), MinMax.from_json(data["action"]))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(
            json.dumps({"state": self.state.to_json(), "action": self.action.to_json()}, indent=1)
        )


def default_stats() -> NormStats:
    """Documented defaults for random-weight configs: Panda joint limits + gripper [0, 1] for state and action."""
    bounds = MinMax(np.array((*PANDA_JOINT_MIN, 0.0)), np.array((*PANDA_JOINT_MAX, 1.0)))
    return NormStats(bounds, bounds)

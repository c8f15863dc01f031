"""What one episode contributes to a dataset: per-step camera frames, robot state and action labels.

Frames are resized at capture time (in the worker) with PIL bilinear, exactly as
``dreamzero_jax.inference.frames.resize`` does at inference, so a model trained on the dataset sees the
pixels it will see when deployed, and only small frames travel between processes.

Example:
    >>> import numpy as np
    >>> from evals.dataset.options import DatasetOptions
    >>> cfg = DatasetOptions(root="unused", size=(2, 3), cameras=("cam",))
    >>> cap = DatasetCapture(cfg)
    >>> obs = {"cam": np.zeros((4, 6, 3), np.uint8), "joint_position": np.arange(7), "gripper_position": [1.0]}
    >>> cap.add(obs, np.ones(8, np.float32))
    >>> rec = cap.recording()
    >>> rec.frames["cam"].shape, rec.state.shape, rec.action.shape
    ((1, 2, 3, 3), (1, 8), (1, 8))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from evals.dataset.options import DatasetOptions


@dataclass(frozen=True)
class EpisodeRecording:
    """One episode for the dataset: row t pairs the observation before step t with the action label of t."""

    frames: dict[str, np.ndarray]  # camera -> uint8 [T, H, W, 3]
    state: np.ndarray  # float32 [T, 8]: 7 joint positions + gripper position
    action: np.ndarray  # float32 [T, 8]: the clean (label) action of each step

    def __len__(self) -> int:
        return int(self.state.shape[0])


def resize_bilinear(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, 3] -> [size[0], size[1], 3] with PIL bilinear (identity when the size matches)."""
    if frame.shape[:2] == tuple(size):
        return np.asarray(frame, np.uint8)
    return np.asarray(Image.fromarray(np.asarray(frame, np.uint8)).resize((size[1], size[0]), Image.BILINEAR))


class DatasetCapture:
    """Collects an episode step by step (call :meth:`add` with the observation the action was chosen on)."""

    def __init__(self, options: DatasetOptions) -> None:
        self.options = options
        self._frames: dict[str, list[np.ndarray]] = {cam: [] for cam in options.cameras}
        self._state: list[np.ndarray] = []
        self._action: list[np.ndarray] = []

    def add(self, obs: dict[str, Any], label: np.ndarray) -> None:
        missing = [cam for cam in self.options.cameras if cam not in obs]
        if missing:
            raise KeyError(f"dataset recording needs camera(s) {missing}, not rendered by the env")
        for cam in self.options.cameras:
            self._frames[cam].append(resize_bilinear(obs[cam], self.options.size))
        joints = np.asarray(obs["joint_position"], np.float32).reshape(-1)
        gripper = np.asarray(obs["gripper_position"], np.float32).reshape(-1)[:1]
        self._state.append(np.concatenate([joints, gripper]))
        self._action.append(np.asarray(label, np.float32).reshape(-1))

    def recording(self) -> EpisodeRecording:
        h, w = self.options.size
        return EpisodeRecording(
            frames={
                cam: np.stack(f) if f else np.zeros((0, h, w, 3), np.uint8) for cam, f in self._frames.items()
            },
            state=np.stack(self._state) if self._state else np.zeros((0, 8), np.float32),
            action=np.stack(self._action) if self._action else np.zeros((0, 8), np.float32),
        )

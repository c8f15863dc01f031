"""LeRobot v3.0 metadata: ``info.json`` features and path templates, running ``stats.json`` statistics,
the validation split.

Field names follow what ``lerobot`` 0.4+ writes (``codebase_version`` "v3.0"); see docs/decisions.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk directory
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 500
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
TASKS_PATH = "meta/tasks.parquet"
STATE_NAMES = [*(f"joint_{i}" for i in range(7)), "gripper"]
# Lossless H.264 in RGB (no YUV conversion, no chroma subsampling): decoded frames equal the written ones.
VIDEO_CODEC, VIDEO_PIX_FMT = "libx264rgb", "rgb24"
INDEX_COLUMNS = ("timestamp", "frame_index", "episode_index", "index", "task_index")


def video_key(camera: str) -> str:
    return f"observation.images.{camera}"


def features(cameras: tuple[str, ...], size: tuple[int, int], fps: int, dim: int = 8) -> dict[str, Any]:
    """The ``features`` block of info.json: dtype, shape and names of every column and video."""
    h, w = size
    names = STATE_NAMES if dim == len(STATE_NAMES) else [f"dim_{i}" for i in range(dim)]
    out: dict[str, Any] = {
        "observation.state": {"dtype": "float32", "shape": [dim], "names": list(names)},
        "action": {"dtype": "float32", "shape": [dim], "names": list(names)},
    }
    for cam in cameras:
        out[video_key(cam)] = {
            "dtype": "video",
            "shape": [h, w, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": h,
                "video.width": w,
                "video.codec": "h264",
                "video.pix_fmt": VIDEO_PIX_FMT,
                "video.is_depth_map": False,
                "video.fps": fps,
                "video.channels": 3,
                "has_audio": False,
            },
        }
    out["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
    for name in INDEX_COLUMNS[1:]:
        out[name] = {"dtype": "int64", "shape": [1], "names": None}
    return out


def splits(total_episodes: int, val_fraction: float) -> dict[str, str]:
    """``{"train": "0:k", "val": "k:n"}``: the last ceil(fraction * n) episodes validate (none if n < 2)."""
    n_val = int(np.ceil(val_fraction * total_episodes)) if total_episodes >= 2 else 0
    n_val = min(n_val, total_episodes - 1) if total_episodes else 0
    out = {"train": f"0:{total_episodes - n_val}"}
    if n_val:
        out["val"] = f"{total_episodes - n_val}:{total_episodes}"
    return out


class RunningStats:
    """min / max / mean / std / count of one feature over all rows (per last axis), accumulated in float64.

    Images accumulate per channel over every pixel, scaled to [0, 1], and are reported as [3, 1, 1] as lerobot
    does; ``count`` is the number of rows (frames).
    """

    def __init__(self, image: bool = False) -> None:
        self.image = image
        self.count = 0
        self.n = 0
        self.sum: np.ndarray | None = None
        self.sumsq: np.ndarray | None = None
        self.min: np.ndarray | None = None
        self.max: np.ndarray | None = None

    def update(self, values: np.ndarray) -> None:
        x = np.asarray(values, np.float64)
        if x.ndim == 1:
            x = x[:, None]
        if not len(x):
            return
        self.count += len(x)
        if self.image:
            x = x.reshape(-1, x.shape[-1]) / 255.0
        self.n += len(x)
        s, ss, lo, hi = x.sum(0), (x * x).sum(0), x.min(0), x.max(0)
        if self.sum is None:
            self.sum, self.sumsq, self.min, self.max = s, ss, lo, hi
        else:
            self.sum, self.sumsq = self.sum + s, self.sumsq + ss
            self.min, self.max = np.minimum(self.min, lo), np.maximum(self.max, hi)

    def to_json(self) -> dict[str, Any]:
        if self.sum is None:
            return {}
        mean = self.sum / self.n
        std = np.sqrt(np.maximum(self.sumsq / self.n - mean * mean, 0.0))
        shape = (-1, 1, 1) if self.image else (-1,)
        out = {k: v.reshape(shape).tolist() for k, v in (("min", self.min), ("max", self.max))}
        out |= {"mean": mean.reshape(shape).tolist(), "std": std.reshape(shape).tolist()}
        out["count"] = [self.count]
        return out

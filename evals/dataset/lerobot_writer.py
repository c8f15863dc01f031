"""`DatasetWriter`: append finished episodes to a LeRobot v3.0 dataset; `close()` writes the metadata.

Videos are streamed to ffmpeg as episodes arrive (several episodes per ``file-NNN.mp4``, each episode's
span given by ``from_timestamp`` / ``to_timestamp`` in ``meta/episodes``); table rows are buffered and
flushed to ``data/chunk-CCC/file-NNN.parquet`` when a file reaches ``data_files_size_in_mb``. ``meta/info.json``
is written last, so a directory without it is an unfinished dataset.

Example:
    >>> import numpy as np, tempfile
    >>> root = tempfile.mkdtemp() + "/ds"
    >>> w = DatasetWriter(root, fps=15, cameras=("cam",), size=(8, 8))
    >>> w.add_episode({"cam": np.zeros((3, 8, 8, 3), np.uint8)}, np.zeros((3, 8)), np.zeros((3, 8)),
    ...               task="lift the cube", embodiment="panda", success=True)
    0
    >>> w.close()["total_frames"]
    3
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

import imageio_ffmpeg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evals.dataset import lerobot_meta as meta


class DatasetDirError(ValueError):
    """The dataset directory cannot be written (exists and is not empty)."""


def check_new_dataset_dir(root: str | Path) -> Path:
    """``root`` as a Path if it does not exist or is an empty directory; else :class:`DatasetDirError`."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise DatasetDirError(f"--dataset {root}: exists and is not an empty directory; choose a new one")
    return root


def _next_file(chunk: int, file: int, chunks_size: int) -> tuple[int, int]:
    return (chunk + 1, 0) if file + 1 >= chunks_size else (chunk, file + 1)


class _VideoStream:
    """One camera's current MP4 file; rolls over to the next file once the raw frames in it exceed ``limit_mb``."""

    def __init__(self, root: Path, key: str, size: tuple[int, int], fps: int, limit_mb: float, chunks: int):
        self.root, self.key, self.size, self.fps = root, key, size, fps
        self.limit_bytes, self.chunks_size = limit_mb * 1024 * 1024, chunks
        self.chunk, self.file, self.frames = 0, 0, 0
        self._gen: Any = None

    @property
    def path(self) -> Path:
        rel = meta.VIDEO_PATH.format(video_key=self.key, chunk_index=self.chunk, file_index=self.file)
        return self.root / rel

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        h, w = self.size
        with (
            warnings.catch_warnings()
        ):  # ffmpeg starts via subprocess (exec at once); JAX's fork warning is moot
            warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
            self._gen = imageio_ffmpeg.write_frames(
                str(self.path),
                (w, h),
                fps=self.fps,
                codec=meta.VIDEO_CODEC,
                pix_fmt_in="rgb24",
                pix_fmt_out=meta.VIDEO_PIX_FMT,
                output_params=["-qp", "0", "-g", "1"],  # lossless; every frame a keyframe (cheap seeking)
                macro_block_size=1,
                quality=None,
                ffmpeg_log_level="error",
            )
            self._gen.send(None)

    def append(self, frames: np.ndarray) -> dict[str, Any]:
        """Append an episode's frames; return its ``videos/<key>/...`` episode columns."""
        if self._gen is None:
            self._open()
        start = self.frames
        for frame in frames:
            self._gen.send(np.ascontiguousarray(frame, np.uint8))
        self.frames += len(frames)
        cols = {
            f"videos/{self.key}/chunk_index": self.chunk,
            f"videos/{self.key}/file_index": self.file,
            f"videos/{self.key}/from_timestamp": start / self.fps,
            f"videos/{self.key}/to_timestamp": self.frames / self.fps,
        }
        # ffmpeg buffers its output, so the file size lags; raw bytes sent bound the encoded size from above.
        if len(frames) and self.frames * frames[0].nbytes >= self.limit_bytes:
            self.close()
            self.chunk, self.file = _next_file(self.chunk, self.file, self.chunks_size)
            self.frames = 0
        return cols

    def close(self) -> None:
        if self._gen is not None:
            self._gen.close()
            self._gen = None


class DatasetWriter:
    """Write episodes into a new LeRobot v3.0 dataset at ``root`` (which must not exist or be empty).

    ``add_episode`` skips unsuccessful episodes unless ``keep_failures``; it returns the new episode index,
    or None when skipped. ``close`` returns the info.json dict.
    """

    def __init__(
        self,
        root: str | Path,
        fps: int,
        cameras: tuple[str, ...],
        size: tuple[int, int],
        *,
        keep_failures: bool = False,
        val_fraction: float = 0.1,
        chunks_size: int = meta.CHUNKS_SIZE,
        data_files_size_in_mb: float = meta.DATA_FILES_SIZE_IN_MB,
        video_files_size_in_mb: float = meta.VIDEO_FILES_SIZE_IN_MB,
    ) -> None:
        self.root = check_new_dataset_dir(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.fps, self.cameras, self.size = int(fps), tuple(cameras), tuple(size)
        self.keep_failures, self.val_fraction = keep_failures, float(val_fraction)
        self.chunks_size, self.data_mb, self.video_mb = (
            chunks_size,
            data_files_size_in_mb,
            video_files_size_in_mb,
        )
        self.videos = {
            cam: _VideoStream(
                self.root, meta.video_key(cam), self.size, self.fps, video_files_size_in_mb, chunks_size
            )
            for cam in self.cameras
        }
        self.tasks: dict[str, int] = {}
        self.episodes: list[dict[str, Any]] = []
        self.total_frames = 0
        self._rows: list[pa.Table] = []
        self._data_chunk, self._data_file = 0, 0
        self._stats = {
            name: meta.RunningStats() for name in ("observation.state", "action", *meta.INDEX_COLUMNS)
        }
        self._stats |= {meta.video_key(cam): meta.RunningStats(image=True) for cam in self.cameras}
        self._closed = False

    def add_episode(
        self,
        frames: dict[str, np.ndarray],
        state: np.ndarray,
        action: np.ndarray,
        *,
        task: str,
        embodiment: str,
        success: bool,
        extra: dict[str, Any] | None = None,
    ) -> int | None:
        """Append one episode (frames: camera -> uint8 [T, H, W, 3]; state, action: [T, D])."""
        if not success and not self.keep_failures:
            return None
        state, action = np.asarray(state, np.float32), np.asarray(action, np.float32)
        length = len(state)
        self._validate(frames, state, action)
        if length == 0:
            return None
        index = len(self.episodes)
        task_index = self.tasks.setdefault(task, len(self.tasks))
        frame_index = np.arange(length, dtype=np.int64)
        columns = {
            "observation.state": state,
            "action": action,
            "timestamp": (frame_index / self.fps).astype(np.float32),
            "frame_index": frame_index,
            "episode_index": np.full(length, index, np.int64),
            "index": np.arange(self.total_frames, self.total_frames + length, dtype=np.int64),
            "task_index": np.full(length, task_index, np.int64),
        }
        for name, values in columns.items():
            self._stats[name].update(values)
        row: dict[str, Any] = {
            "episode_index": index,
            "tasks": [task],
            "length": length,
            "data/chunk_index": self._data_chunk,
            "data/file_index": self._data_file,
            "dataset_from_index": self.total_frames,
            "dataset_to_index": self.total_frames + length,
        }
        for cam in self.cameras:
            row |= self.videos[cam].append(frames[cam])
            self._stats[meta.video_key(cam)].update(frames[cam])
        row |= {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        row |= {"embodiment": embodiment, "success": bool(success), **(extra or {})}
        self.episodes.append(row)
        self.total_frames += length
        self._rows.append(_data_table(columns))
        if sum(t.nbytes for t in self._rows) >= self.data_mb * 1024 * 1024:
            self._flush_rows()
        return index

    def _validate(self, frames: dict[str, np.ndarray], state: np.ndarray, action: np.ndarray) -> None:
        if state.shape != action.shape or state.ndim != 2:
            raise ValueError(f"state {state.shape} and action {action.shape} must both be [T, D]")
        for cam in self.cameras:
            want = (len(state), *self.size, 3)
            got = np.shape(frames.get(cam, ()))
            if got != want:
                raise ValueError(f"frames[{cam!r}] has shape {got}, expected {want}")

    def _flush_rows(self) -> None:
        if not self._rows:
            return
        rel = meta.DATA_PATH.format(chunk_index=self._data_chunk, file_index=self._data_file)
        _write_parquet(self.root / rel, pa.concat_tables(self._rows))
        self._rows = []
        self._data_chunk, self._data_file = _next_file(self._data_chunk, self._data_file, self.chunks_size)

    def close(self) -> dict[str, Any]:
        """Finish videos and data, write tasks, episodes, stats and (last) info.json; return info."""
        if self._closed:
            return self.info()
        self._closed = True
        for stream in self.videos.values():
            stream.close()
        self._flush_rows()
        tasks = pd.DataFrame(
            {"task_index": list(self.tasks.values())}, index=pd.Index(list(self.tasks), name="task")
        )
        (self.root / "meta").mkdir(exist_ok=True)
        tasks.to_parquet(self.root / meta.TASKS_PATH)
        if self.episodes:
            rel = meta.EPISODES_PATH.format(chunk_index=0, file_index=0)
            _write_parquet(self.root / rel, pa.Table.from_pylist(self.episodes))
        stats = {name: s.to_json() for name, s in self._stats.items() if s.count}
        _write_json(self.root / "meta" / "stats.json", stats)
        info = self.info()
        _write_json(self.root / "meta" / "info.json", info)
        return info

    def info(self) -> dict[str, Any]:
        embodiments = sorted({e["embodiment"] for e in self.episodes})
        return {
            "codebase_version": meta.CODEBASE_VERSION,
            "robot_type": embodiments[0] if len(embodiments) == 1 else ("mixed" if embodiments else None),
            "total_episodes": len(self.episodes),
            "total_frames": self.total_frames,
            "total_tasks": len(self.tasks),
            "chunks_size": self.chunks_size,
            "data_files_size_in_mb": self.data_mb,
            "video_files_size_in_mb": self.video_mb,
            "fps": self.fps,
            "splits": meta.splits(len(self.episodes), self.val_fraction),
            "data_path": meta.DATA_PATH,
            "video_path": meta.VIDEO_PATH,
            "features": meta.features(self.cameras, self.size, self.fps),
        }


def _data_table(columns: dict[str, np.ndarray]) -> pa.Table:
    arrays = {}
    for name, values in columns.items():
        if values.ndim == 2:  # fixed-size list columns, as lerobot's datasets write them
            flat = pa.array(values.reshape(-1), pa.float32())
            arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        else:
            arrays[name] = pa.array(values)
    return pa.table(arrays)


def _write_parquet(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=4) + "\n")
    os.replace(tmp, path)

"""Load a LeRobot dataset (v3.0, or v2.0 / v2.1) as validated per-episode arrays.

Column names are configurable (:class:`Columns`) because DreamZero / GR00T datasets name state, action
and cameras differently. Every problem is a :class:`DatasetError` with one line naming it.

Example:
    >>> ds = load_dataset("data/lift_demos")  # doctest: +SKIP
    >>> ep = ds.episodes[0]; ep.state.shape, ep.frames[Columns().cameras[0]].shape  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamzero_jax.data.lerobot_v21 import load_v21
from dreamzero_jax.data.lerobot_v30 import load_v30
from dreamzero_jax.data.source import DatasetError, EpisodeSource, VideoSpan, parse_splits, read_json
from dreamzero_jax.data.video import read_frames

__all__ = ["Columns", "DatasetError", "Episode", "LeRobotDataset", "load_dataset"]

V30_VERSIONS = ("v3.0",)
V2_VERSIONS = ("v2.0", "v2.1")


@dataclass(frozen=True)
class Columns:
    """Which columns hold the state, the action and the camera videos."""

    state: str = "observation.state"
    action: str = "action"
    cameras: tuple[str, ...] = (
        "observation.images.exterior_image_0_left",
        "observation.images.exterior_image_1_left",
        "observation.images.wrist_image_left",
    )


@dataclass(frozen=True)
class Episode:
    index: int
    task: str
    embodiment: str  # from the episode metadata, else info.json robot_type
    state: np.ndarray  # float32 [T, Ds]
    action: np.ndarray  # float32 [T, Da]
    frames: Mapping[str, np.ndarray]  # camera key (as in Columns.cameras) -> uint8 [T, H, W, 3]

    def __len__(self) -> int:
        return int(self.state.shape[0])


@dataclass(frozen=True)
class LeRobotDataset:
    root: Path
    version: str
    fps: float
    episodes: tuple[Episode, ...]
    splits: dict[str, tuple[int, ...]]  # split name -> episode indices ("train", and "val" if present)

    def split(self, name: str) -> tuple[Episode, ...]:
        """The episodes of split ``name`` (KeyError if the dataset has no such split)."""
        wanted = set(self.splits[name])
        return tuple(e for e in self.episodes if e.index in wanted)


class LazyFrames(Mapping):
    """Camera -> frames, decoded on first access (then kept) and checked against the episode length."""

    def __init__(self, spans: dict[str, VideoSpan], length: int, where: str) -> None:
        self._spans, self._length, self._where = spans, length, where
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            self._cache[key] = _decode(self._spans[key], self._length, f"{self._where} {key}")
        return self._cache[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._spans)

    def __len__(self) -> int:
        return len(self._spans)


def _decode(span: VideoSpan, length: int, where: str) -> np.ndarray:
    if not span.path.is_file():
        raise DatasetError(f"{where}: missing video file {span.path}")
    if span.count is not None and span.count != length:
        raise DatasetError(f"{where}: video span holds {span.count} frames but the episode has {length} rows")
    try:
        frames = read_frames(span.path, span.start, span.count, span.fps)
    except (OSError, RuntimeError, StopIteration) as err:
        raise DatasetError(f"{where}: cannot decode {span.path} ({str(err).splitlines()[0]})") from None
    if len(frames) != length:
        raise DatasetError(f"{where}: {len(frames)} video frames but {length} rows")
    return frames


def _array(source: EpisodeSource, column: str, where: str) -> np.ndarray:
    if column not in source.rows.columns:
        raise DatasetError(f"{where}: missing column {column!r} (columns: {sorted(source.rows.columns)})")
    values = source.rows[column].dropna()
    try:
        arr = np.stack([np.asarray(v, np.float32).reshape(-1) for v in values]) if len(values) else None
    except ValueError:
        raise DatasetError(f"{where}: column {column!r} has rows of different sizes") from None
    if arr is None:
        return np.zeros((0, 0), np.float32)
    if not np.all(np.isfinite(arr)):
        t = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise DatasetError(f"{where}: column {column!r} holds NaN/inf (row {t})")
    return arr


def _episode(source: EpisodeSource, columns: Columns, load_frames: bool, root: Path) -> Episode:
    where = f"{root}: episode {source.index}"
    state = _array(source, columns.state, where)
    action = _array(source, columns.action, where)
    if len(state) != len(action):
        raise DatasetError(f"{where}: {len(state)} state rows but {len(action)} action rows")
    if len(state) != source.length:
        raise DatasetError(f"{where}: {len(state)} data rows but the metadata says length {source.length}")
    if len(state) == 0:
        raise DatasetError(f"{where}: empty episode")
    frames = LazyFrames(source.videos, len(state), where)
    if load_frames:
        frames = {key: frames[key] for key in source.videos}
    elif missing := [s.path for s in source.videos.values() if not s.path.is_file()]:
        raise DatasetError(f"{where}: missing video file {missing[0]}")
    return Episode(source.index, source.task, source.embodiment, state, action, frames)


def _video_keys(info: dict, columns: Columns, root: Path) -> tuple[str, ...]:
    features = info.get("features") or {}
    for key in (columns.state, columns.action):
        if features and key not in features:
            raise DatasetError(f"{root}: missing column {key!r} in info.json features")
    for cam in columns.cameras:
        if cam not in features:
            raise DatasetError(f"{root}: missing camera {cam!r} in info.json features")
        if features[cam].get("dtype") != "video":
            raise DatasetError(f"{root}: feature {cam!r} is {features[cam].get('dtype')!r}, expected 'video'")
    return tuple(columns.cameras)


def load_dataset(
    root: str | Path, columns: Columns = Columns(), *, load_frames: bool = True
) -> LeRobotDataset:
    """Read and validate the dataset at ``root``; ``load_frames=False`` decodes frames on first access."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset directory")
    info = read_json(root, "meta/info.json")
    version = str(info.get("codebase_version"))
    if "fps" not in info:
        raise DatasetError(f"{root}: meta/info.json lacks fps")
    keys = _video_keys(info, columns, root)
    if version in V30_VERSIONS:
        sources = load_v30(root, info, keys)
    elif version in V2_VERSIONS:
        sources = load_v21(root, info, keys)
    else:
        raise DatasetError(
            f"{root}: unknown codebase_version {version!r}; readable: {', '.join(V30_VERSIONS + V2_VERSIONS)}"
        )
    if not sources:
        raise DatasetError(f"{root}: no episodes")
    episodes = tuple(_episode(s, columns, load_frames, root) for s in sources)
    splits = parse_splits(info.get("splits"), [e.index for e in episodes])
    return LeRobotDataset(root, version, float(info["fps"]), episodes, splits)

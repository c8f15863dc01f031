"""What every LeRobot layout version resolves to before validation: per-episode rows and video spans."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class DatasetError(ValueError):
    """A dataset that cannot be used; the one-line message names the problem and the file."""


@dataclass(frozen=True)
class VideoSpan:
    """Frames ``[start, start + count)`` of ``path`` (frame indices at ``fps``); count None: to the end."""

    path: Path
    start: int
    count: int | None
    fps: float


@dataclass(frozen=True)
class EpisodeSource:
    index: int
    task: str
    embodiment: str
    length: int  # rows the metadata promises
    rows: pd.DataFrame  # the episode's data rows
    videos: dict[str, VideoSpan]  # video key -> span


def read_json(root: Path, rel: str) -> Any:
    path = root / rel
    if not path.is_file():
        raise DatasetError(f"{root}: missing {rel}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: not valid JSON ({err.msg} at line {err.lineno})") from None


def read_jsonl(root: Path, rel: str) -> list[dict[str, Any]]:
    path = root / rel
    if not path.is_file():
        raise DatasetError(f"{root}: missing {rel}")
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except json.JSONDecodeError as err:
        raise DatasetError(f"{path}: not valid JSON lines ({err.msg})") from None


def read_parquet(root: Path, rel: str) -> pd.DataFrame:
    path = root / rel
    if not path.is_file():
        raise DatasetError(f"{root}: missing {rel}")
    try:
        return pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as err:
        raise DatasetError(f"{path}: unreadable parquet ({str(err).splitlines()[0]})") from None


def parse_splits(splits: Any, episode_indices: list[int]) -> dict[str, tuple[int, ...]]:
    """info.json ``splits`` ({"train": "0:N", "val": "N:M"} or lists) -> episode indices per split."""
    if not splits:
        return {"train": tuple(episode_indices)}
    present = set(episode_indices)
    out: dict[str, tuple[int, ...]] = {}
    for name, value in dict(splits).items():
        try:
            if isinstance(value, str):
                lo, hi = (int(x) for x in value.split(":"))
                ids = range(lo, hi)
            else:
                ids = [int(x) for x in value]
        except (TypeError, ValueError):
            raise DatasetError(
                f"info.json: split {name!r} must be 'start:stop' or a list, got {value!r}"
            ) from None
        out[str(name)] = tuple(i for i in ids if i in present)
    return out

"""LeRobot v3.0 layout: several episodes per data / video file, located through ``meta/episodes``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dreamzero_jax.data.source import DatasetError, EpisodeSource, VideoSpan, read_parquet


def _tasks(root: Path) -> dict[int, str]:
    df = read_parquet(root, "meta/tasks.parquet")
    if "task" not in df.columns:
        df = df.reset_index()
    if "task" not in df.columns or "task_index" not in df.columns:
        raise DatasetError(f"{root}: meta/tasks.parquet needs 'task' and 'task_index'")
    return dict(zip(df["task_index"].astype(int), df["task"].astype(str), strict=True))


def _episodes(root: Path) -> pd.DataFrame:
    files = sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    if not files:
        raise DatasetError(f"{root}: no episodes (meta/episodes/chunk-*/file-*.parquet missing)")
    df = pd.concat([read_parquet(root, str(f.relative_to(root))) for f in files], ignore_index=True)
    need = ["episode_index", "length", "data/chunk_index", "data/file_index"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DatasetError(f"{root}: meta/episodes lacks column(s) {missing}")
    return df.sort_values("episode_index", kind="stable").reset_index(drop=True)


def _task_of(ep: Any, tasks: dict[int, str], rows: pd.DataFrame) -> str:
    listed = ep.get("tasks")
    if listed is not None and len(listed):
        return str(listed[0])
    if "task_index" in rows.columns and len(rows):
        return tasks.get(int(rows["task_index"].iloc[0]), "")
    return ""


def load_v30(root: Path, info: dict[str, Any], video_keys: tuple[str, ...]) -> list[EpisodeSource]:
    """Every episode of a v3.0 dataset as an :class:`EpisodeSource` (rows and video spans, not decoded)."""
    fps = float(info["fps"])
    tasks = _tasks(root)
    episodes = _episodes(root)
    data_files: dict[tuple[int, int], pd.DataFrame] = {}
    out = []
    for ep in episodes.to_dict("records"):
        key = (int(ep["data/chunk_index"]), int(ep["data/file_index"]))
        if key not in data_files:
            rel = info["data_path"].format(chunk_index=key[0], file_index=key[1])
            data_files[key] = read_parquet(root, rel)
        table = data_files[key]
        index = int(ep["episode_index"])
        if "episode_index" not in table.columns:
            raise DatasetError(f"{root}: data file {key} lacks column 'episode_index'")
        rows = table[table["episode_index"] == index].reset_index(drop=True)
        videos = {}
        for vk in video_keys:
            cols = [
                f"videos/{vk}/{c}" for c in ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
            ]
            if any(c not in ep for c in cols):
                raise DatasetError(f"{root}: meta/episodes lacks the video columns of {vk!r}")
            chunk, file, t0, t1 = (ep[c] for c in cols)
            path = root / info["video_path"].format(
                video_key=vk, chunk_index=int(chunk), file_index=int(file)
            )
            start, stop = round(float(t0) * fps), round(float(t1) * fps)
            videos[vk] = VideoSpan(path, start, stop - start, fps)
        embodiment = str(ep.get("embodiment") or info.get("robot_type") or "")
        out.append(
            EpisodeSource(index, _task_of(ep, tasks, rows), embodiment, int(ep["length"]), rows, videos)
        )
    return out

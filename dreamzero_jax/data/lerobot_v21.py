"""LeRobot v2.x layout (DreamZero's and GR00T's training data): one parquet and one MP4 per episode,
``meta/episodes.jsonl`` and ``meta/tasks.jsonl``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dreamzero_jax.data.source import DatasetError, EpisodeSource, VideoSpan, read_jsonl, read_parquet


def load_v21(root: Path, info: dict[str, Any], video_keys: tuple[str, ...]) -> list[EpisodeSource]:
    """Every episode of a v2.0 / v2.1 dataset as an :class:`EpisodeSource` (videos not decoded)."""
    fps = float(info["fps"])
    chunks_size = int(info.get("chunks_size") or 1000)
    tasks = {int(t["task_index"]): str(t["task"]) for t in read_jsonl(root, "meta/tasks.jsonl")}
    episodes = sorted(read_jsonl(root, "meta/episodes.jsonl"), key=lambda e: int(e["episode_index"]))
    if "data_path" not in info or (video_keys and "video_path" not in info):
        raise DatasetError(f"{root}: meta/info.json lacks data_path / video_path")
    out = []
    for ep in episodes:
        index = int(ep["episode_index"])
        chunk = index // chunks_size
        rows = read_parquet(root, info["data_path"].format(episode_chunk=chunk, episode_index=index))
        videos = {}
        for vk in video_keys:
            rel = info["video_path"].format(episode_chunk=chunk, video_key=vk, episode_index=index)
            videos[vk] = VideoSpan(root / rel, 0, None, fps)  # the whole file is the episode
        listed = ep.get("tasks") or []
        task = str(listed[0]) if listed else ""
        if not task and "task_index" in rows.columns and len(rows):
            task = tasks.get(int(rows["task_index"].iloc[0]), "")
        embodiment = str(ep.get("embodiment") or info.get("robot_type") or "")
        out.append(EpisodeSource(index, task, embodiment, int(ep.get("length", len(rows))), rows, videos))
    return out

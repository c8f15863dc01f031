"""Reading a finished (or unfinished) run directory back: run.json + the episode table.

Shared by `evals.compare`, `evals.leaderboard` and `evals.html_report`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evals.runner.recorder import episode_parts, merge_episode_parts


class RunDirError(ValueError):
    """A run directory that cannot be read (message says which file and why)."""


@dataclass(frozen=True)
class RunData:
    path: Path
    info: dict
    episodes: pd.DataFrame


def load_run(path: str | Path) -> RunData:
    """run.json + episodes.parquet of a run directory (the episodes/ parts of an unfinished run otherwise)."""
    path = Path(path)
    try:
        info = json.loads((path / "run.json").read_text())
    except FileNotFoundError:
        raise RunDirError(f"{path}: not a run directory (no run.json)") from None
    except (OSError, json.JSONDecodeError) as e:
        raise RunDirError(f"{path}/run.json: unreadable ({e})") from None
    parts = episode_parts(path / "episodes")
    try:
        if (path / "episodes.parquet").is_file():
            episodes = pd.read_parquet(path / "episodes.parquet")
        elif (
            parts
        ):  # an interrupted or running run: its finished episodes, merged as the recorder merges them
            episodes = merge_episode_parts(parts).to_pandas()
        else:
            raise RunDirError(f"{path}: no episodes.parquet and no finished episodes")
    except (OSError, ValueError) as e:
        if isinstance(e, RunDirError):
            raise
        raise RunDirError(f"{path}: episodes unreadable ({e})") from None
    missing = {"case_id", "seed", "success", "termination_reason"} - set(episodes.columns)
    if missing:
        raise RunDirError(f"{path}: episodes lack columns {sorted(missing)}")
    return RunData(path, info, episodes)

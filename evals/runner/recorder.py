"""The run directory: `run.json`, per-episode parquet parts, consolidated tables.

Crash safety comes from one rule: a finished episode is written as `steps/<episode>.parquet` then
`episodes/<episode>.parquet`, each to a temporary name and `os.replace`d into place. An episode counts as
finished exactly when its `episodes/` part exists, so a `kill -9` loses at most the episodes in flight, and
`--resume` re-runs only those. `consolidate` (at the end, on Ctrl-C and on resume) merges the parts into
`episodes.parquet` / `steps.parquet`, rows sorted by (case order in the suite, seed[, step]).
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from evals.runner.columns import EPISODE_SCHEMA, STEP_SCHEMA, VARIATION_PREFIX
from evals.runner.episode import EpisodeResult

PART_SEPARATOR = "__seed"


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, (json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n").encode())


def _write_table_atomic(path: Path, table: pa.Table) -> None:
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def _variation_value(value: Any) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, bool | int | float | np.integer | np.floating | np.bool_):
        return float(value)
    return str(value)


def episode_table(result: EpisodeResult, policy_name: str) -> pa.Table:
    """One-row table: the fixed episode columns, then `var.<name>` columns sorted by name."""
    row = {**result.row, "policy": policy_name}
    row.setdefault("video", "")
    row.setdefault("attempts", 1)  # executors set it; a result recorded directly took one try
    table = pa.Table.from_pylist([{k: row[k] for k in EPISODE_SCHEMA.names}], schema=EPISODE_SCHEMA)
    for name in sorted(result.variations):
        value = _variation_value(result.variations[name])
        dtype = pa.string() if isinstance(value, str) else pa.float64()
        table = table.append_column(VARIATION_PREFIX + name, pa.array([value], type=dtype))
    return table


def steps_table(result: EpisodeResult) -> pa.Table:
    n = len(result.steps.get("step", []))
    cols: dict[str, Any] = {"case_id": [result.spec.case_id] * n, "seed": [result.spec.seed] * n}
    for name in STEP_SCHEMA.names[2:]:
        values = result.steps.get(name, [])
        if name in ("action", "joint_position"):
            values = [np.asarray(v, np.float32).tolist() for v in values]
        cols[name] = values
    return pa.table(cols, schema=STEP_SCHEMA)


def _unify_variation_types(tables: list[pa.Table]) -> list[pa.Table]:
    """A variation that is a string in any episode becomes a string column everywhere (else float64)."""
    as_string = {
        f.name
        for t in tables
        for f in t.schema
        if f.name.startswith(VARIATION_PREFIX) and f.type == pa.string()
    }
    out = []
    for t in tables:
        for name in as_string.intersection(t.column_names):
            i = t.column_names.index(name)
            t = t.set_column(i, name, t.column(name).cast(pa.string()))
        out.append(t)
    return out


def episode_parts(episodes_dir: Path, case_order: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The per-episode part files of a run, sorted by (case order, case id, seed)."""
    rank = {cid: i for i, cid in enumerate(case_order)}

    def sort_key(path: Path) -> tuple[int, str, int]:
        case_id, _, seed = path.stem.rpartition(PART_SEPARATOR)
        return rank.get(case_id, len(rank)), case_id, int(seed)

    return sorted(Path(episodes_dir).glob("*.parquet"), key=sort_key)


def merge_episode_parts(parts: list[Path]) -> pa.Table:
    """One episode table from part files: variation columns unified and placed after the fixed columns."""
    tables = _unify_variation_types([pq.read_table(p) for p in parts])
    episodes = (
        pa.concat_tables(tables, promote_options="permissive") if tables else EPISODE_SCHEMA.empty_table()
    )
    var_cols = sorted(c for c in episodes.column_names if c.startswith(VARIATION_PREFIX))
    # Parts the recorder wrote have every fixed column; hand-made partial tables keep the ones they have.
    fixed = [c for c in EPISODE_SCHEMA.names if c in episodes.column_names]
    return episodes.select(fixed + var_cols)


class RunRecorder:
    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.episodes_dir = self.run_dir / "episodes"
        self.steps_dir = self.run_dir / "steps"

    def try_lock(self) -> bool:
        """Hold an exclusive lock on the run directory for this process's lifetime (the OS drops it when the
        process dies, even on kill -9). False when another runner holds it."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lock_file = open(self.run_dir / ".lock", "w")  # noqa: SIM115 (kept open: it holds the lock)
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_file.close()
            return False
        return True

    def unlock(self) -> None:
        lock = getattr(self, "_lock_file", None)
        if lock is not None and not lock.closed:
            lock.close()  # closing the descriptor releases the flock

    def prepare(self) -> None:
        for d in (self.run_dir, self.episodes_dir, self.steps_dir, self.run_dir / "videos"):
            d.mkdir(parents=True, exist_ok=True)
        # Leftovers of writes interrupted by a crash: never valid data (the final names are atomic).
        for d in (self.episodes_dir, self.steps_dir, self.run_dir / "videos"):
            for tmp in [*d.glob("*.tmp"), *d.glob("*.partial.mp4")]:
                tmp.unlink(missing_ok=True)

    @property
    def run_json(self) -> Path:
        return self.run_dir / "run.json"

    def read_run_json(self) -> dict[str, Any]:
        return json.loads(self.run_json.read_text())

    def write_run_json(self, info: dict[str, Any]) -> None:
        write_json(self.run_json, info)

    def finished_keys(self) -> set[tuple[str, int]]:
        """(case_id, seed) of every episode whose result is on disk."""
        keys = set()
        for part in self.episodes_dir.glob("*.parquet"):
            case_id, _, seed = part.stem.rpartition(PART_SEPARATOR)
            keys.add((case_id, int(seed)))
        return keys

    def append(self, result: EpisodeResult, policy_name: str) -> None:
        """Record one finished episode (steps first: the episodes part is the commit marker)."""
        name = f"{result.spec.case_id}{PART_SEPARATOR}{result.spec.seed}.parquet"
        _write_table_atomic(self.steps_dir / name, steps_table(result))
        _write_table_atomic(self.episodes_dir / name, episode_table(result, policy_name))

    def consolidate(self, case_order: list[str]) -> tuple[pa.Table, pa.Table]:
        """Merge the parts into episodes.parquet / steps.parquet sorted by (case order, seed[, step])."""
        parts = episode_parts(self.episodes_dir, case_order)
        episodes = merge_episode_parts(parts)
        step_parts = [
            pq.read_table(self.steps_dir / p.name) for p in parts if (self.steps_dir / p.name).exists()
        ]
        steps = pa.concat_tables(step_parts) if step_parts else STEP_SCHEMA.empty_table()
        _write_table_atomic(self.run_dir / "episodes.parquet", episodes)
        _write_table_atomic(self.run_dir / "steps.parquet", steps.cast(STEP_SCHEMA))
        return episodes, steps

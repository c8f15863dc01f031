"""Trajectory analysis of run directories: per-episode metrics from steps.parquet, then aggregates per
case, task, embodiment and policy (the metrics themselves are in `analysis_metrics`).

The result is one long table (`level` = episode | case_id | task | embodiment | policy, `group` = the
group's value) that `analysis.parquet` stores and the Markdown summary, the plots and the HTML report read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from evals.reports import analysis_metrics as m
from evals.reports.run_dir import RunData, RunDirError, load_run
from evals.runner.recorder import PART_SEPARATOR
from evals.runner.stats import percentiles

LEVELS = ("case_id", "task", "embodiment", "policy")
STEP_COLUMNS = ["case_id", "seed", "step", "pos_in_chunk", "action", "joint_position", "success"]
STEP_COLUMNS += ["policy_called", "policy_latency_ms", "policy_timing", "chunk_index"]
EPISODE_KEYS = ["run", "policy", "case_id", "seed", "task", "embodiment"]


class AnalysisError(ValueError):
    """Nothing can be analysed (message: one line saying what to fix)."""


@dataclass(frozen=True)
class RunSteps:
    """One run directory: run.json + episodes and its step rows (merged from parts when unfinished)."""

    run: RunData
    steps: pd.DataFrame
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Analysis:
    """Every analysed run, the long metric table, and the step rows keyed by run (for plots)."""

    runs: tuple[RunSteps, ...]
    table: pd.DataFrame
    steps: pd.DataFrame  # all runs' steps with EPISODE_KEYS columns added
    warnings: tuple[str, ...]

    @property
    def episodes(self) -> pd.DataFrame:
        return self.table[self.table["level"] == "episode"]


def _read_step_parts(path: Path, finished: pd.DataFrame) -> pd.DataFrame:
    """The steps/ parts of the finished episodes of an unfinished run (the recorder's part names)."""
    frames = []
    for case_id, seed in zip(finished["case_id"], finished["seed"], strict=True):
        part = path / "steps" / f"{case_id}{PART_SEPARATOR}{seed}.parquet"
        if part.is_file():
            frames.append(pd.read_parquet(part, columns=STEP_COLUMNS))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=STEP_COLUMNS)


def load_run_steps(path: str | Path) -> RunSteps:
    """Read a run directory for analysis; AnalysisError when it holds no step to analyse."""
    try:
        run = load_run(path)
    except RunDirError as e:
        raise AnalysisError(str(e)) from None
    warnings = []
    status = run.info.get("status")
    if status != "completed":
        warnings.append(
            f"{run.path}: run status is {status!r}, not 'completed': analysing its "
            f"{len(run.episodes)} finished episodes only"
        )
    try:
        if (run.path / "steps.parquet").is_file():
            steps = pd.read_parquet(run.path / "steps.parquet", columns=STEP_COLUMNS)
        else:
            steps = _read_step_parts(run.path, run.episodes)
    except (OSError, ValueError) as e:
        raise AnalysisError(f"{run.path}: steps unreadable ({str(e).splitlines()[0]})") from None
    if not len(steps):
        raise AnalysisError(
            f"{run.path}: no steps recorded (every episode ended before its first step; see episodes.parquet)"
        )
    return RunSteps(run, steps, tuple(warnings))


def check_same_suite(runs: list[RunSteps]) -> None:
    """Runs of different suites or suite versions measure different things: refuse to pool them."""
    suites = {(str(r.run.info.get("suite_name")), str(r.run.info.get("suite_version"))) for r in runs}
    if len(suites) > 1:
        names = ", ".join(f"{n} v{v}" for n, v in sorted(suites))
        raise AnalysisError(f"runs of different suites ({names}): analyse each suite separately")


def _stack(values: pd.Series) -> np.ndarray:
    return np.stack([np.asarray(v, np.float64) for v in values]) if len(values) else np.zeros((0, 0))


def parse_timing(values: pd.Series) -> pd.DataFrame:
    """The JSON `policy_timing` strings of policy calls as one float column per stage (ms)."""
    rows = [json.loads(v) for v in values if isinstance(v, str) and v]
    return pd.DataFrame(rows, dtype=np.float64)


def episode_metrics(steps: pd.DataFrame, dt: float, limits: dict | None, wall_seconds: float) -> dict:
    """All metrics of one episode from its step rows (sorted by step)."""
    joints, actions = _stack(steps["joint_position"]), _stack(steps["action"])
    n_joints = joints.shape[1]
    per_joint, overall = m.jerk_rms(joints, dt)
    jump = m.chunk_boundary_jump(actions, steps["pos_in_chunk"].to_numpy(), n_joints)
    duration = len(steps) * dt
    low, high = (limits["low"], limits["high"]) if limits else ([np.nan] * n_joints, [np.nan] * n_joints)
    margin, near = m.limit_proximity(joints, low, high) if limits else (m.NAN, m.NAN)
    idle = m.idle_seconds(joints, dt)
    latencies = steps.loc[steps["policy_called"].astype(bool), "policy_latency_ms"].dropna().to_numpy()
    q = percentiles(latencies)
    row = {
        "steps": len(steps),
        "jerk_rms": overall,
        **{f"jerk_rms_j{i}": float(v) for i, v in enumerate(per_joint)},
        "smoothness_ldlj": m.log_dimensionless_jerk(joints, dt),
        "chunk_boundary_jump": jump.boundary,
        "chunk_within_step": jump.within,
        "chunk_jump_ratio": jump.ratio,
        "chunk_jump_note": jump.note,
        "gripper_switches": m.gripper_switches(actions, n_joints),
        "gripper_switches_per_s": m.gripper_switches(actions, n_joints) / duration,
        "limit_margin_min": margin,
        "near_limit_fraction": near,
        "idle_seconds": idle,
        "idle_fraction": idle / duration,
        "time_to_success_s": m.time_to_first_success(steps["success"].to_numpy(), dt),
        "policy_calls": len(latencies),
        "latency_p50_ms": q["p50"],
        "latency_p95_ms": q["p95"],
        "latency_share": float(latencies.sum() / 1e3 / wall_seconds) if wall_seconds > 0 else m.NAN,
    }
    timing = parse_timing(steps["policy_timing"])
    row.update({f"timing_{stage}_ms": float(timing[stage].mean()) for stage in timing.columns})
    return row


def _episode_rows(rs: RunSteps) -> list[dict]:
    run, limits = rs.run, rs.run.info.get("joint_limits") or {}
    by_episode = {key: g.sort_values("step") for key, g in rs.steps.groupby(["case_id", "seed"], sort=False)}
    rows = []
    for ep in run.episodes.itertuples(index=False):
        steps = by_episode.get((ep.case_id, ep.seed))
        if steps is None or not len(steps):
            continue  # errored before its first step: nothing to analyse (counted in the episode table)
        dt = float(ep.sim_seconds) / int(ep.steps) if int(ep.steps) else 1.0 / 15
        keys = {"run": run.path.name, "policy": str(ep.policy), "case_id": ep.case_id, "seed": int(ep.seed)}
        keys |= {"task": ep.task, "embodiment": ep.embodiment}
        outcome = {"success": bool(ep.success), "termination_reason": ep.termination_reason}
        metrics = episode_metrics(steps, dt, limits.get(ep.embodiment), float(ep.wall_seconds))
        rows.append({"level": "episode", "group": f"{ep.case_id}/{ep.seed}", **keys, **outcome, **metrics})
    return rows


def _pooled_latency(steps: pd.DataFrame) -> dict[str, float]:
    called = steps[steps["policy_called"].astype(bool)]
    q = percentiles(called["policy_latency_ms"].dropna().tolist())
    timing = parse_timing(called["policy_timing"])
    return {
        "latency_p50_ms": q["p50"],
        "latency_p95_ms": q["p95"],
        **{f"timing_{s}_ms": float(timing[s].mean()) for s in timing.columns},
    }


def aggregate(episodes: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Group rows: metric means over episodes (NaN-skipping), latency percentiles pooled over calls."""
    skip = {"seed", "episodes", "success"}
    numeric = [c for c in episodes.columns if pd.api.types.is_numeric_dtype(episodes[c]) and c not in skip]
    rows = []
    for level in LEVELS:
        for value, group in episodes.groupby(level, sort=False):
            row = {"level": level, "group": str(value), "episodes": len(group)}
            row |= group[numeric].mean(numeric_only=True).to_dict()
            row["success_rate"] = float(group["success"].mean())
            notes = sorted(set(group["chunk_jump_note"]) - {""})
            row["chunk_jump_note"] = "; ".join(notes)
            row |= _pooled_latency(steps[steps[level] == value])
            if level != "policy":
                row["policy"] = ", ".join(sorted(set(group["policy"])))
            rows.append(row)
    return pd.DataFrame(rows)


def analyze_runs(run_dirs: list[str | Path]) -> Analysis:
    """Load, check and analyse run directories of one suite; AnalysisError when nothing can be computed."""
    runs = [load_run_steps(p) for p in run_dirs]
    check_same_suite(runs)
    rows = [row for rs in runs for row in _episode_rows(rs)]
    if not rows:
        raise AnalysisError("no episode with steps in the given runs")
    episodes = pd.DataFrame(rows)
    episodes["episodes"] = 1
    episodes["success_rate"] = episodes["success"].astype(float)
    keyed = []
    for rs in runs:
        keys = rs.run.episodes[["case_id", "seed", "policy", "task", "embodiment"]].assign(
            run=rs.run.path.name
        )
        keyed.append(rs.steps.merge(keys, on=["case_id", "seed"], how="inner"))
    steps = pd.concat(keyed, ignore_index=True)
    table = pd.concat([episodes, aggregate(episodes, steps)], ignore_index=True)
    table["seed"] = table["seed"].astype("Int64")  # group rows have no seed
    warnings = tuple(w for rs in runs for w in rs.warnings)
    return Analysis(tuple(runs), table, steps, warnings)

"""The nightly regression job's records: the stored baseline run, the verdict of one night against it,
the history (one row per night) and its trend chart. `evals.nightly` runs the suite and calls these.

Layout under --baseline-dir:  run/ (run.json, episodes.parquet, steps.parquet, summary.csv), baseline.json.
Layout under --out:           nights/<UTC stamp>/ (run/, report.html, analysis/, leaderboard.*, compare.csv),
                              history.csv, trend.png.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evals.reports.compare import comparability_problems, compare_runs
from evals.reports.run_dir import RunData, load_run
from evals.runner.provenance import utc_now
from evals.runner.stats import percentiles, wilson_interval

BASELINE_FILES = ("run.json", "episodes.parquet", "steps.parquet", "summary.csv")
HISTORY_COLUMNS = [
    "date", "commit", "suite", "policy", "checkpoint", "episodes", "errors", "successes", "rate",
    "ci95_low", "ci95_high", "baseline_rate", "delta", "p_value", "latency_p50_ms", "latency_p95_ms",
    "verdict", "night",
]  # fmt: skip
# Verdicts: baseline (first night, recorded), ok, REGRESSION, errors (the run had episode errors: never
# read as a pass or a regression), incomparable (suite or task code changed: promote a new baseline).


@dataclass(frozen=True)
class Judgement:
    verdict: str
    table: pd.DataFrame | None  # evals.compare's rows (None without a comparison)
    message: str


def baseline_run(baseline_dir: Path) -> RunData | None:
    """The stored baseline run, or None before the first night."""
    return load_run(baseline_dir / "run") if (baseline_dir / "run" / "run.json").is_file() else None


def record_baseline(run_dir: Path, baseline_dir: Path) -> None:
    """Copy the tables of `run_dir` (no videos) into `baseline_dir`/run, replacing any previous baseline."""
    tmp = baseline_dir / "run.new"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in BASELINE_FILES:
        if (run_dir / name).is_file():
            shutil.copy2(run_dir / name, tmp / name)
    shutil.rmtree(baseline_dir / "run", ignore_errors=True)
    tmp.rename(baseline_dir / "run")
    info = json.loads((run_dir / "run.json").read_text())
    meta = {"recorded_at": utc_now(), "source": str(run_dir), "git_commit": info.get("git_commit")}
    (baseline_dir / "baseline.json").write_text(json.dumps(meta, indent=2) + "\n")


def judge(base: RunData | None, night: RunData, alpha: float, max_drop: float) -> Judgement:
    """The night's verdict against the baseline (see the verdicts above)."""
    errors = int((night.episodes["termination_reason"] == "error").sum())
    if errors:
        return Judgement("errors", None, f"{errors} episode(s) ended with an error: see the report")
    if base is None:
        return Judgement("baseline", None, "first night: recorded as the baseline")
    problems = comparability_problems(base, night)
    if problems:
        hint = "check the report, then make this night the baseline with --promote"
        return Judgement(
            "incomparable", None, f"not comparable with the baseline: {'; '.join(problems)}; {hint}"
        )
    table = compare_runs(base.episodes, night.episodes, "case", alpha, max_drop)
    regressed = table.loc[table["verdict"] == "REGRESSION", "group"].tolist()
    if regressed:
        return Judgement("REGRESSION", table, f"significant drop in: {', '.join(regressed)}")
    return Judgement("ok", table, "no significant regression")


def history_row(night: RunData, judgement: Judgement, night_dir: Path) -> dict:
    """One history row: the night's rate with its Wilson interval, latency percentiles and verdict."""
    eps = night.episodes
    valid = eps[eps["termination_reason"] != "error"]
    n, k = len(valid), int(valid["success"].sum())
    lo, hi = wilson_interval(k, n)
    steps_path = night.path / "steps.parquet"
    lat = []
    if steps_path.is_file():
        steps = pd.read_parquet(steps_path, columns=["policy_called", "policy_latency_ms"])
        lat = steps.loc[steps["policy_called"].astype(bool), "policy_latency_ms"].tolist()
    q = percentiles(lat)
    overall = judgement.table.iloc[0] if judgement.table is not None else None
    info = night.info
    return {
        "date": info.get("started_at") or utc_now(),
        "commit": info.get("git_commit"),
        "suite": f"{info.get('suite_name')} v{info.get('suite_version')}",
        "policy": (info.get("policy") or {}).get("name", info.get("policy_spec")),
        "checkpoint": info.get("checkpoint"),
        "episodes": len(eps),
        "errors": len(eps) - n,
        "successes": k,
        "rate": k / n if n else float("nan"),
        "ci95_low": lo,
        "ci95_high": hi,
        "baseline_rate": overall["rate_baseline"] if overall is not None else float("nan"),
        "delta": overall["delta"] if overall is not None else float("nan"),
        "p_value": overall["p_value"] if overall is not None else float("nan"),
        "latency_p50_ms": q["p50"],
        "latency_p95_ms": q["p95"],
        "verdict": judgement.verdict,
        "night": night_dir.name,
    }


def append_history(out_dir: Path, row: dict) -> pd.DataFrame:
    """Add the night to history.csv and redraw trend.png; returns the whole history."""
    from evals.reports.plots import save_png, trend

    path = out_dir / "history.csv"
    history = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=HISTORY_COLUMNS)
    history = pd.concat([history, pd.DataFrame([row], columns=HISTORY_COLUMNS)], ignore_index=True)
    history.to_csv(path, index=False, float_format="%.6g")
    history["baseline_rate"] = history["baseline_rate"].where(
        history["verdict"] != "baseline", history["rate"]
    )
    save_png(trend(history), out_dir / "trend.png")
    return history


def latest_night(out_dir: Path) -> tuple[dict, Path]:
    """The last history row and its run directory (for --promote); ValueError when there is none."""
    path = out_dir / "history.csv"
    if not path.is_file():
        raise ValueError(f"{out_dir}: no history.csv yet: run a night first")
    last = pd.read_csv(path).iloc[-1].to_dict()
    return last, out_dir / "nights" / str(last["night"]) / "run"

"""What `evals.analyze` writes: analysis.parquet, analysis.md and the PNG plots (also embedded in the HTML
report)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from evals.reports.analysis import Analysis
from evals.reports.plots import action_trace, latency_histogram, save_png
from evals.runner.recorder import write_atomic

MAX_TRACES = 6
# (column, header, format) of the Markdown tables.
COLUMNS = [
    ("episodes", "n", "d"),
    ("success_rate", "success", ".2f"),
    ("jerk_rms", "jerk rms", ".3g"),
    ("smoothness_ldlj", "LDLJ", ".3g"),
    ("chunk_jump_ratio", "chunk jump x", ".2f"),
    ("gripper_switches_per_s", "grip sw/s", ".2f"),
    ("limit_margin_min", "limit margin", ".3f"),
    ("idle_fraction", "idle", ".2f"),
    ("time_to_success_s", "t success s", ".2f"),
    ("latency_p50_ms", "lat p50", ".1f"),
    ("latency_p95_ms", "lat p95", ".1f"),
    ("latency_share", "lat share", ".2f"),
]


def _fmt(value: object, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(int(value), spec) if spec == "d" else format(float(value), spec)


def markdown_table(rows: pd.DataFrame, columns: list[tuple[str, str, str]]) -> list[str]:
    header = ["group", *(h for _, h, _ in columns)]
    out = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(columns) + "|"]
    for r in rows.to_dict("records"):
        cells = [str(r["group"]), *(_fmt(r.get(c), spec) for c, _, spec in columns)]
        out.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return out


def timing_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c.startswith("timing_") and table[c].notna().any()]


def summary_markdown(analysis: Analysis) -> str:
    """The Markdown summary: runs, caveats, one table per level, per-stage timing, notes."""
    t = analysis.table
    out = ["# Trajectory analysis", ""]
    for rs in analysis.runs:
        info = rs.run.info
        policy = (info.get("policy") or {}).get("name", info.get("policy_spec"))
        out.append(f"- `{rs.run.path}`: suite {info.get('suite_name')} v{info.get('suite_version')}, "
                   f"policy {policy}, {len(rs.run.episodes)} episodes, status {info.get('status')}")  # fmt: skip
    out += ["", *(f"> warning: {w}" for w in analysis.warnings)]
    if not any(rs.run.info.get("joint_limits") for rs in analysis.runs):
        out.append("> note: run.json records no joint limits (an older run): limit margins are left empty")
    for level, title in [("policy", "Per policy"), ("embodiment", "Per embodiment"),
                         ("task", "Per task"), ("case_id", "Per case")]:  # fmt: skip
        out += ["", f"## {title}", "", *markdown_table(t[t["level"] == level], COLUMNS)]
    stages = timing_columns(t)
    out += ["", "## Per-stage model timing (mean ms per call)", ""]
    if stages:
        cols = [(c, c.removeprefix("timing_").removesuffix("_ms"), ".2f") for c in stages]
        out += markdown_table(t[t["level"] == "policy"], cols)
    else:
        out.append("No per-stage timing: the policies report none (`policy_timing` is empty).")
    notes = t.loc[t["level"] == "policy", ["group", "chunk_jump_note"]]
    undefined = [f"- {r.group}: {r.chunk_jump_note}" for r in notes.itertuples() if r.chunk_jump_note]
    if undefined:
        out += ["", "## Chunk-boundary jump undefined", "", *undefined]
    out += ["", LEGEND]
    return "\n".join(out) + "\n"


LEGEND = """Columns: jerk rms = RMS joint-space jerk of the observed arm (rad/s^3); LDLJ = log dimensionless
jerk (closer to 0 is smoother); chunk jump x = mean action step into a new chunk / median step inside a
chunk (undefined for chunk length 1); grip sw/s = gripper open/close switches per second; limit margin =
closest approach to a joint limit as a fraction of its range; idle = share of time no joint moved;
t success = seconds to the first successful step; lat = policy latency per call (ms) and its share of
the episode's wall time."""


def chosen_episodes(analysis: Analysis) -> list[dict]:
    """Episodes worth a trace: per policy, its first failure and its first success (at most MAX_TRACES)."""
    eps = analysis.episodes
    picked = []
    for _, group in eps.groupby("policy", sort=False):
        for success in (False, True):
            hit = group[group["success"] == success]
            if len(hit):
                picked.append(hit.iloc[0].to_dict())
    return picked[:MAX_TRACES]


def figures(analysis: Analysis) -> list[tuple[str, object]]:
    """(file name, Figure) of every analysis plot."""
    steps = analysis.steps
    called = steps[steps["policy_called"].astype(bool)]
    lat = {p: g["policy_latency_ms"].dropna().to_numpy(np.float64) for p, g in called.groupby("policy")}
    out: list[tuple[str, object]] = [("latency_hist.png", latency_histogram(lat))]
    for i, ep in enumerate(chosen_episodes(analysis)):
        mask = (
            (steps["run"] == ep["run"]) & (steps["case_id"] == ep["case_id"]) & (steps["seed"] == ep["seed"])
        )
        ep_steps = steps[mask].sort_values("step")
        n_joints = len(ep_steps["joint_position"].iloc[0])
        outcome = "success" if ep["success"] else "failure"
        seed = int(ep["seed"])
        title = f"{ep['policy']}: {ep['case_id']} seed {seed} ({outcome})"
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"actions_{i}_{ep['policy']}_{ep['case_id']}_{seed}")
        out.append((f"{name}.png", action_trace(ep_steps, n_joints, title)))
    return out


def write_analysis(analysis: Analysis, out_dir: str | Path) -> list[Path]:
    """analysis.parquet, analysis.md and the PNGs into `out_dir`; returns the written paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "analysis.parquet", out_dir / "analysis.md"]
    analysis.table.to_parquet(written[0], index=False)
    write_atomic(written[1], summary_markdown(analysis).encode())
    written += [save_png(fig, out_dir / name) for name, fig in figures(analysis)]
    return written

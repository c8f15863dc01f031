"""`summary.csv` and the printed results table."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pandas as pd


def write_summary(summary: pd.DataFrame, run_dir: str | Path) -> Path:
    path = Path(run_dir) / "summary.csv"
    tmp = path.with_name(path.name + ".tmp")
    summary.to_csv(tmp, index=False, float_format="%.6g")
    os.replace(tmp, path)
    return path


def _ms(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.1f}"


def format_table(summary: pd.DataFrame) -> str:
    """Fixed-width table: one block per grouping (overall, case, task, embodiment)."""
    header = ("group", "n", "succ", "rate", "95% CI", "any", "progress", "errors", "lat p50 ms", "lat p95 ms")
    lines = []
    for grouping, block in summary.groupby("group_by", sort=False):
        rows = [
            (
                str(r.group),
                str(r.episodes),
                str(r.successes),
                f"{r.success_rate:.2f}",
                f"[{r.ci95_low:.2f}, {r.ci95_high:.2f}]",
                f"{r.success_any_rate:.2f}",
                f"{r.mean_final_progress:.2f}",
                str(r.errors),
                _ms(r.latency_p50_ms),
                _ms(r.latency_p95_ms),
            )
            for r in block.itertuples()
        ]
        title = ("by " + grouping) if grouping != "all" else "overall"
        widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
        fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
        lines.append(f"== {title} ==")
        lines.append(fmt.format(*header))
        lines.extend(fmt.format(*row) for row in rows)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"

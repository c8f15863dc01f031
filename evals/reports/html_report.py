"""A single static HTML report of one run: inline CSS, SVG bars and embedded PNG plots, no scripts; the
rollout videos are linked from the run directory.

    python -m evals.html_report results/smoke/20260101T120000Z_expert        # -> <run>/report.html

Sections: run metadata; success tables (overall, per task, embodiment, case) with 95% Wilson intervals and
bar charts; policy latency percentiles; success per variation (each `var.*` column, numeric ones binned
into quartiles); failed and errored episodes with their error messages and links to their videos; the
trajectory analysis (`evals.analyze`'s per-case table and plots, embedded as PNGs); per-case grids of the
rollout videos (failures first), playable in the page.

Exit codes: 0 ok, 2 usage error (unreadable run directory, unwritable output).
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
from pathlib import Path

import pandas as pd

from evals.reports.html_media import CSS as MEDIA_CSS
from evals.reports.html_media import analysis_section, video_section
from evals.reports.run_dir import RunData, RunDirError, load_run
from evals.runner.columns import VARIATION_PREFIX
from evals.runner.stats import percentiles, summarize, wilson_interval

EXIT_OK, EXIT_USAGE = 0, 2
MAX_BINS = 4  # numeric variations with more distinct values are cut into this many quantile bins
CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.meta td{text-align:left}.err{color:#a00}.ok{color:#070}
svg{display:block;margin:.4em 0 1em}svg text{font-size:11px;font-family:system-ui,sans-serif}
"""


def esc(x: object) -> str:
    return html.escape(str(x), quote=True)


def _f(x: float, spec: str = ".2f") -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def table(header: list[str], rows: list[list[object]], cls: str = "") -> str:
    """An HTML table; cells are escaped unless already wrapped as `Markup`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{c if isinstance(c, Markup) else esc(c)}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


class Markup(str):
    """A string that is already HTML (not escaped again by `table`)."""


def svg_bars(labels: list[str], rates: list[float], lows: list[float], highs: list[float]) -> str:
    """Horizontal bar chart of rates in [0, 1] with interval whiskers; hand-written SVG."""
    label_w, bar_w, row_h = 220, 360, 18
    height = row_h * len(labels) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 60}" height="{height}" '
        f'role="img" aria-label="success rates">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1):
        x = label_w + tick * bar_w
        parts.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height - 16}" stroke="#eee"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle">{tick:g}</text>')
    for i, (label, rate, lo, hi) in enumerate(zip(labels, rates, lows, highs, strict=True)):
        y = i * row_h + 2
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{esc(short)}</text>')
        if math.isnan(rate):
            continue
        parts.append(
            f'<rect x="{label_w}" y="{y + 2}" width="{rate * bar_w:.1f}" height="{row_h - 6}" fill="#4a7fc1"/>'
        )
        cy = y + row_h / 2 - 1
        x0, x1 = label_w + lo * bar_w, label_w + hi * bar_w
        parts.append(f'<line x1="{x0:.1f}" y1="{cy}" x2="{x1:.1f}" y2="{cy}" stroke="#222"/>')
        parts.append(f'<text x="{label_w + bar_w + 6}" y="{y + 12}">{rate:.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def summary_section(summary: pd.DataFrame, grouping: str, title: str) -> str:
    block = summary[summary["group_by"] == grouping]
    header = [
        "group",
        "n",
        "successes",
        "rate",
        "95% CI",
        "any-step rate",
        "progress",
        "errors",
        "lat p50 ms",
        "lat p95 ms",
    ]
    rows = [
        [
            r.group,
            r.episodes,
            r.successes,
            _f(r.success_rate),
            f"[{_f(r.ci95_low)}, {_f(r.ci95_high)}]",
            _f(r.success_any_rate),
            _f(r.mean_final_progress),
            r.errors,
            _f(r.latency_p50_ms, ".1f"),
            _f(r.latency_p95_ms, ".1f"),
        ]
        for r in block.itertuples()
    ]
    chart = svg_bars(
        block["group"].tolist(),
        block["success_rate"].tolist(),
        block["ci95_low"].tolist(),
        block["ci95_high"].tolist(),
    )
    return f"<h2>{esc(title)}</h2>" + table(header, rows) + (chart if len(block) > 1 else "")


def variation_bins(episodes: pd.DataFrame, column: str) -> pd.DataFrame:
    """Success per bin of one `var.*` column, in value order: exact values when few, else quantile bins."""
    values = episodes[column]
    numeric = pd.api.types.is_numeric_dtype(values)
    if numeric and values.nunique(dropna=True) > MAX_BINS:
        cut = pd.qcut(values, MAX_BINS, duplicates="drop")
        order, labels = cut.cat.codes.astype(float).where(values.notna()), cut.astype(str)
    elif numeric:
        order, labels = values.astype(float), values.map(lambda v: _f(v, ".3g"))
    else:
        labels = values.astype(str)
        order = labels.rank(method="dense").where(values.notna())
    frame = pd.DataFrame(
        {"bin": labels.where(values.notna(), "missing"), "order": order, "success": episodes["success"]}
    )
    rows = []
    for label, g in frame.groupby("bin", sort=False):
        n, k = len(g), int(g["success"].sum())
        lo, hi = wilson_interval(k, n)
        rows.append(
            {
                "bin": str(label),
                "order": g["order"].min(),
                "n": n,
                "successes": k,
                "rate": k / n,
                "ci95_low": lo,
                "ci95_high": hi,
            }
        )
    # Missing values (the variation did not apply to that case) sort last.
    return (
        pd.DataFrame(rows)
        .sort_values("order", na_position="last")
        .drop(columns="order")
        .reset_index(drop=True)
    )


def variation_section(episodes: pd.DataFrame) -> str:
    columns = sorted(c for c in episodes.columns if c.startswith(VARIATION_PREFIX))
    varied = [c for c in columns if episodes[c].nunique(dropna=False) > 1]
    out = ["<h2>Success per variation</h2>"]
    if not varied:
        out.append("<p>No variation takes more than one value in this run.</p>")
    for column in varied:
        b = variation_bins(episodes, column)
        rows = [
            [r.bin, r.n, r.successes, _f(r.rate), f"[{_f(r.ci95_low)}, {_f(r.ci95_high)}]"]
            for r in b.itertuples()
        ]
        out.append(f"<h3>{esc(column)}</h3>" + table(["bin", "n", "successes", "rate", "95% CI"], rows))
        out.append(
            svg_bars(b["bin"].tolist(), b["rate"].tolist(), b["ci95_low"].tolist(), b["ci95_high"].tolist())
        )
    constant = [c for c in columns if c not in varied]
    if constant:
        out.append(f"<p>Constant in this run: {esc(', '.join(constant))}.</p>")
    return "".join(out)


def latency_section(episodes: pd.DataFrame, steps: pd.DataFrame | None) -> str:
    if steps is not None and len(steps):
        lat = steps.loc[steps["policy_called"].astype(bool), "policy_latency_ms"].tolist()
        source = f"{len(lat)} policy calls (steps.parquet)"
    else:  # no steps table: fall back to the per-episode medians
        lat = episodes["policy_latency_p50_ms"].tolist() if "policy_latency_p50_ms" in episodes else []
        source = "per-episode median latencies (no steps.parquet)"
    q = percentiles(lat, qs=(50, 90, 95, 99))
    row = [source, *(_f(q[k], ".1f") for k in ("p50", "p90", "p95", "p99"))]
    for col in ("env_step_ms", "render_ms"):
        row.append(_f(float(episodes[col].mean()), ".1f") if col in episodes else "-")
    header = ["over", "p50 ms", "p90 ms", "p95 ms", "p99 ms", "mean env step ms", "mean render ms"]
    return "<h2>Policy latency</h2>" + table(header, [row])


def failures_section(episodes: pd.DataFrame, run_dir: Path, report_dir: Path) -> str:
    failed = episodes[~episodes["success"].astype(bool) | (episodes["termination_reason"] == "error")]
    rows = []
    for _, r in failed.iterrows():
        video = str(r.get("video") or "")
        if video:
            href = Path(os.path.relpath(run_dir / video, report_dir)).as_posix()
            link = Markup(f'<a href="{esc(href)}">{esc(video)}</a>')
        else:
            link = "-"
        errored = r["termination_reason"] == "error"
        reason = Markup(f'<span class="{"err" if errored else ""}">{esc(r["termination_reason"])}</span>')
        error = f"{r.get('error_type', '')}: {r.get('error', '')}" if errored else ""
        rows.append(
            [r["case_id"], r["seed"], reason, _f(float(r.get("final_progress", math.nan))), error, link]
        )
    title = f"<h2>Failed and errored episodes ({len(failed)} of {len(episodes)})</h2>"
    if not rows:
        return title + '<p class="ok">Every episode succeeded.</p>'
    return title + table(["case", "seed", "termination", "final progress", "error", "video"], rows)


def metadata_section(run: RunData) -> str:
    info = run.info
    policy = info.get("policy") or {}
    eps = run.episodes
    rows = [
        ["run directory", run.path],
        ["suite", f"{info.get('suite_name')} (version {info.get('suite_version')})"],
        ["status", info.get("status")],
        ["policy", f"{policy.get('name', info.get('policy_spec'))} (spec {info.get('policy_spec')})"],
        ["checkpoint", info.get("checkpoint") or "-"],
        ["git commit", info.get("git_commit") or "-"],
        ["started / ended (UTC)", f"{info.get('started_at')} / {info.get('ended_at')}"],
        ["episodes", f"{len(eps)} ({int((eps['termination_reason'] == 'error').sum())} errored)"],
        ["host", (info.get("host") or {}).get("hostname", "-")],
        ["command line", " ".join(map(str, info.get("command_line") or []))],
    ]
    return "<h2>Run</h2>" + table(["field", "value"], rows, cls="meta")


def render_report(run: RunData, steps: pd.DataFrame | None, report_dir: Path) -> str:
    """The whole HTML document for one run."""
    summary = summarize(run.episodes, steps)
    title = (
        f"{run.info.get('suite_name')} — {(run.info.get('policy') or {}).get('name', '')} — {run.path.name}"
    )
    sections = [
        metadata_section(run),
        summary_section(summary, "all", "Overall"),
        summary_section(summary, "task", "By task"),
        summary_section(summary, "embodiment", "By embodiment"),
        summary_section(summary, "case_id", "By case"),
        latency_section(run.episodes, steps),
        variation_section(run.episodes),
        failures_section(run.episodes, run.path, report_dir),
        analysis_section(run.path),
        video_section(run.episodes, run.path, report_dir),
    ]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
        f"<style>{CSS}{MEDIA_CSS}</style></head><body><h1>{esc(title)}</h1>"
        "<p>Success rates with 95% Wilson intervals; errored episodes count in n here (as in summary.csv).</p>"
        + "".join(sections)
        + "</body></html>\n"
    )


def read_steps(run_dir: Path) -> pd.DataFrame | None:
    path = run_dir / "steps.parquet"
    cols = ["case_id", "seed", "policy_called", "policy_latency_ms"]
    return pd.read_parquet(path, columns=cols) if path.is_file() else None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.html_report", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory (holds run.json + episodes.parquet)")
    p.add_argument("--output", metavar="FILE", help="HTML file to write (default RUN_DIR/report.html)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    out = Path(args.output) if args.output else Path(args.run_dir) / "report.html"
    try:
        run = load_run(args.run_dir)
        steps = read_steps(run.path)
        text = render_report(run, steps, out.resolve().parent)
        out.write_text(text, encoding="utf-8")
    except (RunDirError, OSError) as e:
        print(f"evals.html_report: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {out} ({len(text) // 1024} KiB)")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

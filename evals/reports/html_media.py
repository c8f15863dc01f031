"""The HTML report's media sections: the trajectory-analysis plots (embedded PNGs) and per-case grids of
rollout videos (failures first) with instruction and outcome, playable in the page."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pandas as pd

from evals.reports.analysis import AnalysisError, analyze_runs
from evals.reports.analysis_output import COLUMNS, figures

CSS = """
.grid{display:flex;flex-wrap:wrap;gap:10px;margin:.4em 0 1.2em}
.grid figure{margin:0;width:260px;font-size:.8em}
.grid video{width:260px;background:#000}
.grid figcaption{margin-top:2px}.plot{max-width:100%}
"""


def _esc(x: object) -> str:
    from html import escape

    return escape(str(x), quote=True)


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="plot" alt="{_esc(alt)}" src="data:image/png;base64,{data}">'


def analysis_section(run_dir: Path) -> str:
    """Per-case motion metrics and the analysis plots of this run (a note when there are no steps)."""
    from evals.reports.plots import png_bytes

    out = ["<h2>Trajectory analysis</h2>"]
    try:
        analysis = analyze_runs([run_dir])
    except AnalysisError as e:
        return out[0] + f"<p>Not available: {_esc(e)}</p>"
    cases = analysis.table[analysis.table["level"] == "case_id"]
    header = "".join(f"<th>{_esc(h)}</th>" for h in ["case", *(h for _, h, _ in COLUMNS)])
    rows = []
    for r in cases.to_dict("records"):
        cells = [r["group"], *(_cell(r.get(c), spec) for c, _, spec in COLUMNS)]
        rows.append("<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in cells) + "</tr>")
    out.append(f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    out.append("<p>See <code>python -m evals.analyze</code> and docs/analysis.md for the definitions.</p>")
    out += [_img(png_bytes(fig), name) for name, fig in figures(analysis)]
    return "".join(out)


def _cell(value: object, spec: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return format(int(value), spec) if spec == "d" else format(float(value), spec)


def _outcome(row: pd.Series) -> tuple[str, str]:
    if row["termination_reason"] == "error":
        return "err", f"error: {row.get('error_type', '')}"
    return ("ok", "success") if bool(row["success"]) else ("err", f"failure ({row['termination_reason']})")


def video_section(episodes: pd.DataFrame, run_dir: Path, report_dir: Path) -> str:
    """Per case, a grid of the episodes' MP4s (failures first, then by seed) with outcome and instruction."""
    with_video = (
        episodes[episodes["video"].fillna("").astype(str) != ""] if "video" in episodes else episodes[:0]
    )
    out = [f"<h2>Rollout videos ({len(with_video)} of {len(episodes)} episodes have one)</h2>"]
    if not len(with_video):
        return out[0] + "<p>No videos in this run (see <code>--video</code> of evals.run).</p>"
    ordered = with_video.assign(_ok=with_video["success"].astype(bool)).sort_values(
        ["_ok", "seed"], kind="stable"
    )
    for case, group in ordered.groupby("case_id", sort=False):
        figs = []
        for _, r in group.iterrows():
            href = Path(os.path.relpath(run_dir / str(r["video"]), report_dir)).as_posix()
            cls, outcome = _outcome(r)
            figs.append(
                f'<figure><video controls preload="metadata" src="{_esc(href)}"></video>'
                f'<figcaption>seed {_esc(r["seed"])}: <span class="{cls}">{_esc(outcome)}</span><br>'
                f"{_esc(r.get('instruction', ''))}</figcaption></figure>"
            )
        out.append(f'<h3>{_esc(case)}</h3><div class="grid">{"".join(figs)}</div>')
    return "".join(out)

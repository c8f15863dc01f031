"""Leaderboard: success rate per (policy, checkpoint) and embodiment (or task) over one or more runs.

    python -m evals.leaderboard results/droid/* --by embodiment --markdown board.md --csv board.csv \
        --png board.png

One row per (policy name, checkpoint) from run.json's policy description; runs of the same policy and
checkpoint are pooled. Each cell is the success rate with its 95% Wilson interval and n; errored episodes are
left out of n (and counted in `errors`), as in `evals.compare`. Rows are sorted by overall success rate.
Runs of different suites, suite versions or task fingerprints measure different things, so each such group
gets its own board.

Exit codes: 0 ok, 2 usage error (bad flag or unreadable run directory).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pandas as pd

from evals.reports.compare import format_rows
from evals.reports.run_dir import RunData, RunDirError, load_run
from evals.runner.stats import wilson_interval

EXIT_OK, EXIT_USAGE = 0, 2
BY_COLUMNS = ("embodiment", "task")
STATS = ("rate", "ci95_low", "ci95_high", "n", "errors")


def board_key(info: dict) -> tuple[str, str, str]:
    """Runs with equal keys are comparable: same suite name, suite version and task fingerprints."""
    fps = json.dumps(info.get("task_fingerprints") or {}, sort_keys=True)
    return str(info.get("suite_name")), str(info.get("suite_version")), fps


def policy_key(info: dict) -> tuple[str, str]:
    policy = info.get("policy") or {}
    name = policy.get("name") or info.get("policy_spec") or "?"
    checkpoint = policy.get("checkpoint", info.get("checkpoint"))
    return str(name), "-" if checkpoint in (None, "") else str(checkpoint)


def _cell(episodes: pd.DataFrame) -> dict[str, float]:
    errored = episodes["termination_reason"] == "error"
    valid = episodes[~errored]
    n, k = len(valid), int(valid["success"].sum())
    lo, hi = wilson_interval(k, n)
    return {
        "rate": k / n if n else float("nan"),
        "ci95_low": lo,
        "ci95_high": hi,
        "n": n,
        "errors": int(errored.sum()),
    }


def build_board(runs: list[RunData], by: str) -> pd.DataFrame:
    """Wide table for comparable runs: policy, checkpoint, runs, then `<column>.<stat>` for overall + groups."""
    entries: dict[tuple[str, str], list[RunData]] = {}
    for run in runs:
        entries.setdefault(policy_key(run.info), []).append(run)
    columns = list(dict.fromkeys(v for run in runs for v in run.episodes[by].astype(str)))
    rows = []
    for (name, checkpoint), members in entries.items():
        eps = pd.concat([r.episodes for r in members], ignore_index=True)
        row: dict = {"policy": name, "checkpoint": checkpoint, "runs": len(members)}
        for col, part in [("overall", eps), *((c, eps[eps[by].astype(str) == c]) for c in columns)]:
            row.update({f"{col}.{s}": v for s, v in _cell(part).items()})
        rows.append(row)
    board = pd.DataFrame(rows)
    # NaN rates (no valid episodes) sort last; ties by more evidence first.
    return board.sort_values(
        ["overall.rate", "overall.n", "policy"], ascending=[False, False, True], na_position="last"
    ).reset_index(drop=True)


def build_leaderboards(runs: list[RunData], by: str) -> list[tuple[tuple[str, str, str], pd.DataFrame]]:
    groups: dict[tuple[str, str, str], list[RunData]] = {}
    for run in runs:
        groups.setdefault(board_key(run.info), []).append(run)
    return [(key, build_board(members, by)) for key, members in groups.items()]


def group_columns(board: pd.DataFrame) -> list[str]:
    return list(dict.fromkeys(c.rsplit(".", 1)[0] for c in board.columns if c.endswith(".rate")))


def format_cell(board_row: pd.Series, col: str) -> str:
    n = board_row.get(f"{col}.n")
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "-"  # this policy never ran that column's episodes
    rate, lo, hi = board_row[f"{col}.rate"], board_row[f"{col}.ci95_low"], board_row[f"{col}.ci95_high"]
    err = int(board_row[f"{col}.errors"])
    text = "n=0" if not n else f"{rate:.2f} [{lo:.2f}, {hi:.2f}] n={int(n)}"
    return text + (f" err={err}" if err else "")


def _rows(board: pd.DataFrame) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    cols = group_columns(board)
    header = ("policy", "checkpoint", "runs", *cols)
    rows = [
        (r["policy"], r["checkpoint"], str(r["runs"]), *(format_cell(r, c) for c in cols))
        for _, r in board.iterrows()
    ]
    return header, rows


def _title(key: tuple[str, str, str]) -> str:
    return f"suite {key[0]} (version {key[1]})"


def _note(boards: list) -> str | None:
    if len(boards) < 2:
        return None
    return (
        f"note: the runs span {len(boards)} different suites / suite versions / task fingerprints; "
        "each gets its own board (their numbers are not comparable)"
    )


def format_text(boards: list) -> str:
    out = [note] if (note := _note(boards)) else []
    for i, (key, board) in enumerate(boards):
        out.append(f"== board {i + 1}: {_title(key)} ==")
        out.append(format_rows(*_rows(board)))
    return "\n".join(out)


def format_markdown(boards: list) -> str:
    out = ["# Leaderboard", ""]
    if note := _note(boards):
        out += [f"> {note}", ""]
    for i, (key, board) in enumerate(boards):
        header, rows = _rows(board)
        out += [f"## Board {i + 1}: {_title(key)}", ""]
        out.append("| " + " | ".join(header) + " |")
        out.append("|" + "|".join(["---"] * 3 + ["---:"] * (len(header) - 3)) + "|")
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
        out.append("")
    out.append("Cells: success rate [95% Wilson interval] n (errored episodes excluded, shown as err=).")
    return "\n".join(out) + "\n"


def to_csv_frame(boards: list) -> pd.DataFrame:
    frames = []
    for i, (key, board) in enumerate(boards):
        meta = pd.DataFrame({"board": i + 1, "suite": key[0], "suite_version": key[1]}, index=board.index)
        frames.append(pd.concat([meta, board], axis=1))
    return pd.concat(frames, ignore_index=True)


def chart_panels(board: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Per group column of a board (embodiment or task): label (policy @ checkpoint), rate, CI, n."""
    labels = [
        p if c == "-" else f"{p} @ {c}" for p, c in zip(board["policy"], board["checkpoint"], strict=True)
    ]
    panels = {}
    for col in group_columns(board):
        stats = {s: board[f"{col}.{s}"].to_numpy() for s in ("rate", "ci95_low", "ci95_high", "n")}
        panels[col] = pd.DataFrame({"label": labels, **stats}).fillna({"n": 0})
    return panels


def write_chart(boards: list, path: str | Path) -> None:
    """One PNG: per board a row of panels (overall, then one per embodiment or task)."""
    from evals.reports.plots import save_png, success_panels

    if len(boards) == 1:
        key, board = boards[0]
        save_png(success_panels(chart_panels(board), f"Leaderboard: {_title(key)}"), path)
        return
    panels = {
        f"{i + 1}: {col}": frame for i, (_, b) in enumerate(boards) for col, frame in chart_panels(b).items()
    }
    save_png(success_panels(panels, f"Leaderboards ({len(boards)} suites; not comparable across)"), path)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.leaderboard", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "runs", nargs="+", metavar="RUN_DIR", help="run directories (each holds run.json + episodes)"
    )
    p.add_argument("--by", choices=BY_COLUMNS, default="embodiment", help="columns per embodiment or task")
    p.add_argument("--markdown", metavar="OUT.md", help="also write the leaderboard as Markdown")
    p.add_argument(
        "--csv", metavar="OUT.csv", help="also write it as CSV (one row per policy, `<col>.<stat>`)"
    )
    p.add_argument("--png", metavar="OUT.png", help="also write a chart: a panel per embodiment (or task)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        runs = [load_run(path) for path in args.runs]
    except RunDirError as e:
        print(f"evals.leaderboard: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    boards = build_leaderboards(runs, args.by)
    print(format_text(boards), end="")
    if args.markdown:
        Path(args.markdown).write_text(format_markdown(boards))
    if args.csv:
        to_csv_frame(boards).to_csv(args.csv, index=False, float_format="%.6g")
    if args.png:
        write_chart(boards, args.png)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

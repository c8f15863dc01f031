"""`python -m evals.analyze`: how the policy moves, from the step tables of one or more run directories.

    python -m evals.analyze results/smoke/RUN_A results/smoke/RUN_B --out analysis/

Per episode, then per case, task, embodiment and policy: joint-space jerk and smoothness, the action jump
at chunk boundaries against the typical step inside a chunk, gripper chatter, joint-limit proximity, idle
time, time to first success, policy latency (and its share of wall time) and per-stage model timing.
Writes analysis.parquet, analysis.md and PNG plots to --out (default: RUN_DIR/analysis for one run).

Exit codes: 0 ok, 2 nothing can be analysed (no run.json, no steps, runs of different suites, bad flag).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_USAGE = 0, 2


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.analyze",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1],
        epilog="See docs/analysis.md for the definitions of the metrics.",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories of one suite")
    p.add_argument(
        "--out", metavar="DIR", help="output folder (default RUN_DIR/analysis; required for 2+ runs)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.out is None and len(args.runs) > 1:
        print("evals.analyze: error: pass --out DIR when analysing more than one run", file=sys.stderr)
        return EXIT_USAGE
    out = Path(args.out) if args.out else Path(args.runs[0]) / "analysis"
    from evals.reports.analysis import AnalysisError, analyze_runs
    from evals.reports.analysis_output import summary_markdown, write_analysis

    try:
        analysis = analyze_runs(args.runs)
        written = write_analysis(analysis, out)
    except (AnalysisError, OSError) as e:
        print(f"evals.analyze: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    for warning in analysis.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(summary_markdown(analysis), end="")
    print(f"wrote {len(written)} files to {out}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

"""`python -m evals.nightly`: run a suite, compare it with a stored baseline, keep a history.

    python -m evals.nightly --suite test_cases/smoke.json --policy dreamzero --checkpoint ckpt/ \\
        --baseline-dir nightly/baseline --out nightly/

Each night writes nights/<UTC stamp>/ under --out (the run, report.html, analysis/, leaderboard.md/.png,
compare.csv) and appends a row to history.csv (date, commit, rates, latency p50/p95, verdict), redrawing
trend.png. The first night records the baseline; the baseline then stays fixed until `--promote` makes the
latest night the new baseline (after a good night, or after an intended change). See docs/nightly.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evals import run as evals_run

EXIT_OK, EXIT_REGRESSION, EXIT_USAGE, EXIT_RUN_ERRORS = 0, 1, 2, 3
EPILOG = """\
exit codes:
  0    no regression (or the first night, which records the baseline; or --promote done)
  1    significant regression against the baseline (evals.compare's gate: drop > --max-drop at --alpha)
  2    usage error (bad flag, suite or policy; baseline not comparable: check, then --promote)
  3    the run itself had episode errors or did not finish: neither a pass nor a regression
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.nightly",
        description="Nightly regression job: run a suite, compare with the baseline, keep a history.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", help="suite JSON file (required unless --promote)")
    p.add_argument("--policy", help="policy spec as in evals.run (required unless --promote)")
    p.add_argument("--checkpoint", help="checkpoint for --policy dreamzero")
    p.add_argument("--policy-opt", action="append", default=[], metavar="KEY=VALUE", help="as in evals.run")
    p.add_argument("--cases", action="append", default=[], metavar="GLOB", help="as in evals.run")
    p.add_argument("--tags", action="append", default=[], metavar="TAG", help="as in evals.run")
    p.add_argument("--max-episodes", type=int, metavar="N", help="as in evals.run")
    p.add_argument("--workers", type=int, default=1, help="as in evals.run (default 1)")
    p.add_argument("--baseline-dir", required=True, metavar="DIR", help="where the baseline run is kept")
    p.add_argument("--out", required=True, metavar="DIR", help="nights/, history.csv and trend.png go here")
    p.add_argument("--max-drop", type=float, default=0.1, help="tolerated success-rate drop (default 0.1)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--promote", action="store_true", help="make the latest night the baseline; runs nothing")
    return p


def _run_argv(args: argparse.Namespace, run_dir: Path) -> list[str]:
    """evals.run's flags for this night (videos of failures, quiet)."""
    argv = ["--suite", args.suite, "--policy", args.policy, "--output", str(run_dir), "--quiet"]
    argv += ["--video", "failures", "--workers", str(args.workers)]
    if args.checkpoint:
        argv += ["--checkpoint", args.checkpoint]
    for flag, values in (("--policy-opt", args.policy_opt), ("--cases", args.cases), ("--tags", args.tags)):
        for value in values:
            argv += [flag, value]
    if args.max_episodes is not None:
        argv += ["--max-episodes", str(args.max_episodes)]
    return argv


def _night_dir(out: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    night, i = out / "nights" / stamp, 1
    while night.exists():  # two nights in one second (tests, reruns)
        night, i = out / "nights" / f"{stamp}-{i}", i + 1
    return night


def _write_reports(night_dir: Path, run: Any, baseline: Any, judgement: Any) -> None:
    """report.html, analysis/, leaderboard.md/.png (baseline and night) and compare.csv of the night."""
    from evals.reports.analysis import AnalysisError, analyze_runs
    from evals.reports.analysis_output import write_analysis
    from evals.reports.html_report import read_steps, render_report
    from evals.reports.leaderboard import build_leaderboards, format_markdown, write_chart

    (night_dir / "report.html").write_text(render_report(run, read_steps(run.path), night_dir), "utf-8")
    try:
        write_analysis(analyze_runs([run.path]), night_dir / "analysis")
    except AnalysisError as e:
        print(f"warning: no trajectory analysis: {e}", file=sys.stderr)
    boards = build_leaderboards([r for r in (baseline, run) if r is not None], "embodiment")
    (night_dir / "leaderboard.md").write_text(format_markdown(boards))
    write_chart(boards, night_dir / "leaderboard.png")
    if judgement.table is not None:
        judgement.table.to_csv(night_dir / "compare.csv", index=False, float_format="%.6g")


def promote(args: argparse.Namespace) -> int:
    from evals.reports.nightly import latest_night, record_baseline

    try:
        row, run_dir = latest_night(Path(args.out))
    except ValueError as e:
        print(f"evals.nightly: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    if row["verdict"] == "errors" or not (run_dir / "episodes.parquet").is_file():
        print(f"evals.nightly: error: night {row['night']} had episode errors; not promoted", file=sys.stderr)
        return EXIT_USAGE
    record_baseline(run_dir, Path(args.baseline_dir))
    print(f"promoted night {row['night']} (success rate {row['rate']:.2f}) to baseline {args.baseline_dir}")
    return EXIT_OK


EXIT_FOR_VERDICT = {"baseline": EXIT_OK, "ok": EXIT_OK, "REGRESSION": EXIT_REGRESSION}


def main(
    argv: list[str] | None = None, *, backend: Any = None, policy_builder: Callable[..., Any] | None = None
) -> int:
    """CLI entry point; `backend` / `policy_builder` are passed to evals.run (test injection points)."""
    args = build_parser().parse_args(argv)
    if args.promote:
        return promote(args)
    if not args.suite or not args.policy:
        print("evals.nightly: error: --suite and --policy are required (or pass --promote)", file=sys.stderr)
        return EXIT_USAGE
    from evals.reports.nightly import (
        Judgement,
        append_history,
        baseline_run,
        history_row,
        judge,
        record_baseline,
    )
    from evals.reports.run_dir import RunDirError, load_run

    out, baseline_dir = Path(args.out), Path(args.baseline_dir)
    try:
        baseline = baseline_run(baseline_dir)
    except RunDirError as e:
        print(f"evals.nightly: error: baseline unreadable: {e}", file=sys.stderr)
        return EXIT_USAGE
    night_dir = _night_dir(out)
    rc = evals_run.main(_run_argv(args, night_dir / "run"), backend=backend, policy_builder=policy_builder)
    if rc == evals_run.EXIT_USAGE:
        return EXIT_USAGE  # evals.run printed what to fix; nothing ran
    try:
        run = load_run(night_dir / "run")
    except RunDirError as e:
        print(f"evals.nightly: error: the run left no results ({e})", file=sys.stderr)
        return EXIT_RUN_ERRORS
    judgement = judge(baseline, run, args.alpha, args.max_drop)
    if rc != evals_run.EXIT_OK and judgement.verdict != "errors":
        judgement = Judgement("errors", None, f"the run did not finish cleanly (evals.run exit {rc})")
    _write_reports(night_dir, run, baseline, judgement)
    row = append_history(out, history_row(run, judgement, night_dir))
    if judgement.verdict == "baseline":
        record_baseline(run.path, baseline_dir)
    rate = row.iloc[-1]["rate"]
    print(f"night {night_dir.name}: success rate {rate:.2f}: {judgement.verdict}: {judgement.message}")
    if judgement.verdict == "incomparable":
        print(f"evals.nightly: error: {judgement.message}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_FOR_VERDICT.get(judgement.verdict, EXIT_RUN_ERRORS)


if __name__ == "__main__":
    sys.exit(main())

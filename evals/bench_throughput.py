"""`python -m evals.bench_throughput`: episodes per hour of the local executor at 1 and N workers and of the
Ray executor at N workers (a local cluster), on the same episodes, in one invocation.

    python -m evals.bench_throughput                      # first 40 episodes of droid.json, expert, --video all
    python -m evals.bench_throughput --episodes 12 --workers 2 --keep bench/

Each configuration is one full `python -m evals.run` (in this process), timed from start to finish, so
worker start-up (and the Ray cluster's) counts; enough episodes amortise it. `--video all` makes rendering
part of the work, as it is for camera policies. The three runs must give identical tables (timing columns
aside); the script says whether they did. The last line is machine-readable:

    summary: local2_over_local1=<r> ray2_over_local2=<r>

(`local2`/`ray2` name the `--workers` value.) Exit codes: 0 done, 1 a run failed or the tables differ, 2 usage.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from evals import run as evals_run
from evals.runner.columns import TIMING_COLUMNS
from evals.runner.exit_codes import EXIT_EPISODE_ERRORS, EXIT_OK, EXIT_USAGE, UsageError


@dataclass(frozen=True)
class Timing:
    name: str
    executor: str
    workers: int
    episodes: int
    wall_seconds: float
    exit_code: int

    @property
    def per_hour(self) -> float:
        return self.episodes * 3600.0 / self.wall_seconds


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.bench_throughput",
        description="Episodes/hour: local executor at 1 and N workers, Ray executor at N workers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="the last line is: summary: local<N>_over_local1=<r> ray<N>_over_local<N>=<r>",
    )
    p.add_argument("--suite", default="test_cases/droid.json", help="suite JSON (default droid.json)")
    p.add_argument("--policy", default="expert", help="policy spec (default expert)")
    p.add_argument("--episodes", type=int, default=40, help="first N episodes of the suite (default 40)")
    p.add_argument("--workers", type=int, default=2, help="workers of the parallel runs (default 2)")
    p.add_argument("--video", choices=("all", "failures", "none"), default="all", help="default all")
    p.add_argument("--keep", metavar="DIR", help="keep the three run directories under DIR (default: temp)")
    return p


def _check(args: argparse.Namespace) -> None:
    if args.episodes < 1 or args.workers < 2:
        raise UsageError("--episodes must be >= 1 and --workers >= 2")
    if not Path(args.suite).is_file():
        raise UsageError(f"--suite {args.suite}: no such file")
    if args.keep and Path(args.keep).exists() and any(Path(args.keep).iterdir()):
        raise UsageError(f"--keep {args.keep}: must be new or empty")
    from evals.runner.ray_executor import require_ray

    require_ray()


def _time_run(name: str, executor: str, workers: int, args: argparse.Namespace, out: Path) -> Timing:
    argv = [
        *("--suite", args.suite, "--policy", args.policy, "--max-episodes", str(args.episodes)),
        *("--video", args.video, "--workers", str(workers), "--executor", executor),
        *("--output", str(out / name), "--quiet"),
    ]
    print(f"running {name}: python -m evals.run {' '.join(argv)}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):  # each run's summary table
        code = evals_run.main(argv)
    return Timing(name, executor, workers, args.episodes, time.perf_counter() - t0, code)


def _same_tables(runs: list[Path]) -> bool:
    """Whether every run's episodes.parquet equals the first's, timing columns aside."""
    tables = [pd.read_parquet(r / "episodes.parquet") for r in runs]
    tables = [t.drop(columns=[c for c in t.columns if c in TIMING_COLUMNS]) for t in tables]
    return all(t.equals(tables[0]) for t in tables[1:])


def _report(timings: list[Timing], identical: bool) -> None:
    print(f"{'config':8} {'executor':8} {'workers':>7} {'episodes':>8} {'wall s':>8} {'episodes/hour':>13}")
    for t in timings:
        print(
            f"{t.name:8} {t.executor:8} {t.workers:7d} {t.episodes:8d} {t.wall_seconds:8.1f} {t.per_hour:13.0f}"
        )
    print(f"tables identical (timing columns aside): {'yes' if identical else 'NO'}")
    local1, localn, rayn = timings
    print(
        f"summary: {localn.name}_over_{local1.name}={localn.per_hour / local1.per_hour:.2f} "
        f"{rayn.name}_over_{localn.name}={rayn.per_hour / localn.per_hour:.2f}"
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _check(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        out = Path(args.keep) if args.keep else Path(tmp)
        n = args.workers
        configs = [("local1", "local", 1), (f"local{n}", "local", n), (f"ray{n}", "ray", n)]
        timings = [_time_run(name, executor, w, args, out) for name, executor, w in configs]
        if any(t.exit_code not in (EXIT_OK, EXIT_EPISODE_ERRORS) for t in timings):
            print(f"error: a run did not finish: {[(t.name, t.exit_code) for t in timings]}", file=sys.stderr)
            return EXIT_EPISODE_ERRORS
        identical = _same_tables([out / t.name for t in timings])
        _report(timings, identical)
    return EXIT_OK if identical else EXIT_EPISODE_ERRORS


if __name__ == "__main__":
    sys.exit(main())

"""`python -m evals.run`: evaluate a policy on a suite of simulated test cases.

Library use (tests inject a fake env package and policy builder the same way):
    >>> from evals.run import main
    >>> main(["--suite", "test_cases/smoke.json", "--policy", "expert", "--list"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_EPISODE_ERRORS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

EPILOG = """\
exit codes:
  0    every selected episode ran (success or failure of the policy does not matter)
  1    the run finished but some episodes ended with an error (env/policy exception; see episodes.parquet)
  2    usage or validation error (bad flag, bad suite file, unknown policy, nothing selected); nothing ran
  130  interrupted (Ctrl-C / SIGTERM): finished episodes are kept, run.json says "interrupted";
       continue with --resume RUN_DIR

outputs (in the run directory): run.json, episodes.parquet, steps.parquet, summary.csv, videos/*.mp4,
and the per-episode parts episodes/ and steps/ that make a run resumable. See docs/runner.md.
"""


class UsageError(Exception):
    """A mistake the user must fix; printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.run",
        description="Run a policy on a suite of simulated test cases; write tables, videos and a summary.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--suite", help="suite JSON file (e.g. test_cases/smoke.json); required unless --resume")
    p.add_argument(
        "--policy",
        help="policy: expert | random | zero | replay:<steps.parquet> | dreamzero | remote:<host>:<port> "
        "(default: expert)",
    )
    p.add_argument("--checkpoint", help="checkpoint for --policy dreamzero (default: tiny random weights)")
    p.add_argument(
        "--cases",
        action="append",
        metavar="GLOB",
        help="only cases whose id matches GLOB (repeatable: any of)",
    )
    p.add_argument(
        "--tags", action="append", metavar="TAG", help="only cases carrying TAG (repeatable: any of)"
    )
    p.add_argument(
        "--seeds-override",
        metavar="S,S,...",
        help="comma-separated seeds used for every case instead of its own",
    )
    p.add_argument("--max-episodes", type=int, metavar="N", help="run only the first N selected episodes")
    p.add_argument(
        "--workers", type=int, default=1, help="worker processes (spawned); 1 runs in-process (default 1)"
    )
    p.add_argument(
        "--output", metavar="DIR", help="run directory (default results/<suite>/<UTC time>_<policy>/)"
    )
    p.add_argument(
        "--resume", metavar="RUN_DIR", help="continue an interrupted/crashed run; skips finished episodes"
    )
    p.add_argument(
        "--video",
        choices=("all", "failures", "none"),
        help="which episodes get an MP4 (default failures)",
    )
    p.add_argument(
        "--dataset",
        metavar="DIR",
        help="also record the episodes as a LeRobot v3.0 dataset in DIR (new or empty); renders the three "
        "DROID cameras at every step; successful episodes only unless --dataset-all",
    )
    p.add_argument(
        "--dataset-size",
        nargs=2,
        type=int,
        metavar=("H", "W"),
        help="frame size stored in the dataset (PIL bilinear from the suite's image_size; default 64 96)",
    )
    p.add_argument("--dataset-all", action="store_true", help="--dataset keeps failed episodes too")
    p.add_argument("--list", action="store_true", help="print the selected episodes and exit without running")
    p.add_argument(
        "--quiet", action="store_true", help="no progress bar or per-episode lines; only the summary"
    )
    return p


def _parse_seeds(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--seeds-override: expected comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageError("--seeds-override: give at least one seed, all >= 0")
    return seeds


def _select(suite: Any, selection: dict[str, Any]) -> list[Any]:
    from evals.suite import expand, filter_specs

    specs = filter_specs(
        expand(suite, selection["seeds_override"]), cases=selection["cases"], tags=selection["tags"]
    )
    if selection["max_episodes"] is not None:
        specs = specs[: selection["max_episodes"]]
    if not specs:
        given = [
            f"--{k} {' '.join(v)}"
            for k, v in (("cases", selection["cases"]), ("tags", selection["tags"]))
            if v
        ]
        raise UsageError(
            f"no episodes of suite {suite.name!r} match {' and '.join(given) or 'the selection'}"
        )
    return specs


def _default_run_dir(suite_name: str, policy_name: str) -> Path:
    from evals.provenance import utc_now

    stamp = re.sub(r"[^0-9T]", "", utc_now().split("+")[0])
    safe_policy = re.sub(r"[^A-Za-z0-9_.-]+", "-", policy_name).strip("-") or "policy"
    return Path("results") / suite_name / f"{stamp}Z_{safe_policy}"


def _plan(args: argparse.Namespace, backend: Any) -> dict[str, Any]:
    """Resolve suite, selection, policy and run directory (new run or --resume); no episode runs here."""
    from evals.provenance import task_fingerprints
    from evals.recorder import RunRecorder
    from evals.suite import Suite, load_suite

    if args.workers < 1:
        raise UsageError("--workers must be >= 1")
    if args.max_episodes is not None and args.max_episodes < 1:
        raise UsageError("--max-episodes must be >= 1")
    if args.resume:
        recorder = RunRecorder(args.resume)
        if not recorder.run_json.is_file():
            raise UsageError(f"--resume {args.resume}: not a run directory (no run.json)")
        info = recorder.read_run_json()
        suite = Suite.from_dict(info["suite"])
        recorded_flags = (
            ("suite", suite.path),
            ("policy", info["policy_spec"]),
            ("checkpoint", info.get("checkpoint")),
        )
        for flag, recorded in recorded_flags:
            given = getattr(args, flag)
            if given is not None and given != recorded:
                raise UsageError(f"--resume: this run used --{flag} {recorded}; drop --{flag} {given}")
        if any(
            v is not None
            for v in (args.cases, args.tags, args.seeds_override, args.max_episodes, args.output)
        ):
            raise UsageError(
                "--resume reuses the run's selection; drop --cases/--tags/--seeds-override/--max-episodes/--output"
            )
        try:
            current = task_fingerprints(backend, [c["task"] for c in suite.cases])
        except ValueError as e:  # a task of the run no longer exists
            raise UsageError(f"--resume: {e}") from None
        for task, fp in info.get("task_fingerprints", {}).items():
            if current.get(task) != fp:
                raise UsageError(
                    f"--resume: task {task!r} changed since this run started (fingerprint); start a new run"
                )
        return {
            "suite": suite,
            "selection": info["selection"],
            "policy_spec": info["policy_spec"],
            "checkpoint": info.get("checkpoint"),
            "video": args.video or info.get("video", "failures"),
            "recorder": recorder,
            "previous": info,
            "fingerprints": current,
        }
    if not args.suite:
        raise UsageError("--suite FILE is required (or --resume RUN_DIR)")
    suite = load_suite(args.suite, backend)
    selection = {
        "cases": args.cases,
        "tags": args.tags,
        "seeds_override": _parse_seeds(args.seeds_override),
        "max_episodes": args.max_episodes,
    }
    return {
        "suite": suite,
        "selection": selection,
        "policy_spec": args.policy or "expert",
        "checkpoint": args.checkpoint,
        "video": args.video or "failures",
        "recorder": RunRecorder(args.output) if args.output else None,
        "previous": None,
        "fingerprints": task_fingerprints(backend, [c["task"] for c in suite.cases]),
    }


def _dataset_options(args: argparse.Namespace, specs: list[Any]) -> Any:
    """`--dataset*` flags -> DatasetOptions (None without --dataset); checked before any episode runs."""
    from evals.dataset.capture import DEFAULT_SIZE, DatasetOptions
    from evals.dataset.lerobot_writer import DatasetDirError, check_new_dataset_dir

    if args.dataset is None:
        if args.dataset_size or args.dataset_all:
            raise UsageError("--dataset-size / --dataset-all need --dataset DIR")
        return None
    if args.resume:
        raise UsageError("--dataset records a fresh run only; drop --dataset or start a new run")
    size = tuple(args.dataset_size or DEFAULT_SIZE)
    if min(size) < 1:
        raise UsageError(f"--dataset-size: H and W must be >= 1, got {size[0]} {size[1]}")
    if len({s.control_freq for s in specs}) > 1:
        raise UsageError("--dataset: the selected cases differ in control_freq; one dataset has one fps")
    try:
        check_new_dataset_dir(args.dataset)
    except DatasetDirError as e:
        raise UsageError(str(e)) from None
    return DatasetOptions(root=args.dataset, size=size, keep_all=args.dataset_all)


def _list(specs: list[Any]) -> None:
    print(f"{len(specs)} episodes")
    for s in specs:
        print(
            f"{s.case_id}\tseed={s.seed}\tenv_seed={s.env_seed}\t{s.task}\t{s.embodiment}\t"
            f"horizon={s.horizon}\ttags={','.join(s.tags)}\t{s.instruction}"
        )


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(
    argv: list[str] | None = None,
    *,
    backend: Any = None,
    policy_builder: Callable[..., Any] | None = None,
) -> int:
    """CLI entry point; `backend` / `policy_builder` are injection points for tests (defaults: real ones)."""
    args = build_parser().parse_args(argv)
    from evals.backend import default_backend
    from evals.suite import SuiteError
    from evals.worker import build_policy_factory

    backend = backend or default_backend()
    policy_builder = policy_builder or build_policy_factory
    try:
        plan = _plan(args, backend)
        specs = _select(plan["suite"], plan["selection"])
        plan["dataset"] = _dataset_options(args, specs)
        if args.list:
            _list(specs)
            return EXIT_OK
        try:
            factory = policy_builder(plan["policy_spec"], checkpoint=plan["checkpoint"], options={})
        except ValueError as e:  # PolicySpecError is a ValueError
            raise UsageError(str(e).splitlines()[0] if str(e) else repr(e)) from None
    except (UsageError, SuiteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    from evals.session import run_session

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return run_session(
            args=args,
            argv=sys.argv if argv is None else ["python", "-m", "evals.run", *argv],
            plan=plan,
            specs=specs,
            factory=factory,
            backend=backend,
            policy_builder=policy_builder,
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())

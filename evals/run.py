"""`python -m evals.run`: evaluate a policy on a suite of simulated test cases.

Library use (tests inject a fake env package and policy builder the same way):
    >>> from evals.run import main
    >>> main(["--suite", "test_cases/smoke.json", "--policy", "expert", "--list"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evals.runner.exit_codes import EXIT_EPISODE_ERRORS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageError

if TYPE_CHECKING:  # the runner modules are imported on use, so `--help` stays fast
    from evals.runner.plan import RunPlan, RunRequest

__all__ = ["EXIT_EPISODE_ERRORS", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

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
        "--policy-opt",
        action="append",
        metavar="KEY=VALUE",
        help="policy option, repeatable (e.g. dreamzero config=tiny, random seed=3, expert action_noise=0.02); "
        "see docs/runner.md",
    )
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
        "--workers",
        type=int,
        default=1,
        help="workers: spawned processes (local; 1 runs in-process) or Ray actors (default 1)",
    )
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="where episodes run: local processes (default) or a Ray cluster (needs pip install '.[ray]'; "
        "see docs/scaling.md)",
    )
    p.add_argument(
        "--ray-address",
        metavar="auto|HOST:PORT",
        help="Ray cluster to use with --executor ray (default: start a local one on this machine)",
    )
    p.add_argument(
        "--episode-cpus",
        type=float,
        default=1.0,
        metavar="N",
        help="--executor ray: CPUs each worker (one episode at a time) reserves (default 1)",
    )
    p.add_argument(
        "--episode-gpus",
        type=float,
        default=0.0,
        metavar="N",
        help="--executor ray: GPUs each worker reserves, for in-process model policies (default 0)",
    )
    p.add_argument(
        "--episode-resource",
        action="append",
        metavar="NAME=AMOUNT",
        help="--executor ray: another Ray resource each worker reserves, e.g. TPU=4 (repeatable)",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=1,
        metavar="B",
        help="episodes each worker runs side by side, their due chunk requests sent in one batched policy "
        "call (continuous batching; default 1)",
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
        "--video-stride",
        type=int,
        metavar="K",
        help="videos keep the reset view and every K-th step's view (default 1: every step)",
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


def _request(args: argparse.Namespace) -> RunRequest:
    """The parsed flags as the typed request the runner plans from (the only use of the Namespace)."""
    from evals.policies.options import parse_policy_opts
    from evals.runner.plan import RunRequest

    try:
        policy_options = parse_policy_opts(args.policy_opt)
    except ValueError as e:
        raise UsageError(str(e)) from None
    return RunRequest(
        executor=args.executor,
        ray_address=args.ray_address,
        episode_cpus=args.episode_cpus,
        episode_gpus=args.episode_gpus,
        episode_resources=_episode_resources(args.episode_resource),
        policy_options=policy_options,
        suite=args.suite,
        policy=args.policy,
        checkpoint=args.checkpoint,
        cases=tuple(args.cases) if args.cases is not None else None,
        tags=tuple(args.tags) if args.tags is not None else None,
        seeds_override=args.seeds_override,
        max_episodes=args.max_episodes,
        workers=args.workers,
        batch=args.batch,
        output=args.output,
        resume=args.resume,
        video=args.video,
        video_stride=args.video_stride,
        quiet=args.quiet,
        dataset=args.dataset,
        dataset_size=tuple(args.dataset_size) if args.dataset_size is not None else None,
        dataset_all=args.dataset_all,
    )


def _episode_resources(items: list[str] | None) -> dict[str, float]:
    """`--episode-resource NAME=AMOUNT` (repeatable) -> {NAME: AMOUNT}."""
    resources: dict[str, float] = {}
    for item in items or []:
        name, sep, amount = item.partition("=")
        try:
            resources[name.strip()] = float(amount)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UsageError(f"--episode-resource {item!r}: expected NAME=AMOUNT, e.g. TPU=4")
        if name.strip() in ("CPU", "GPU"):
            raise UsageError("--episode-resource: use --episode-cpus / --episode-gpus for CPU and GPU")
    return resources


def _list(specs: list[Any]) -> None:
    print(f"{len(specs)} episodes")
    for s in specs:
        print(
            f"{s.case_id}\tseed={s.seed}\tenv_seed={s.env_seed}\t{s.task}\t{s.embodiment}\t"
            f"horizon={s.horizon}\ttags={','.join(s.tags)}\t{s.instruction}"
        )


def _build_factory(policy_builder: Callable[..., Any], plan: RunPlan) -> Any:
    try:
        return policy_builder(
            plan.policy.spec, checkpoint=plan.policy.checkpoint, options=dict(plan.policy.options)
        )
    except ValueError as e:  # PolicySpecError is a ValueError
        raise UsageError(str(e).splitlines()[0] if str(e) else repr(e)) from None


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
    from evals.runner.backend import default_backend
    from evals.runner.plan import build_plan, select_episodes
    from evals.runner.suite import SuiteError
    from evals.runner.worker import build_policy_factory

    backend = backend or default_backend()
    policy_builder = policy_builder or build_policy_factory
    try:
        plan = build_plan(_request(args), backend)
        specs = select_episodes(plan.suite, plan.selection)
        if args.list:
            _list(specs)
            return EXIT_OK
        factory = _build_factory(policy_builder, plan)
    except (UsageError, SuiteError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    from evals.runner.session import run_session

    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return run_session(
            plan,
            specs,
            factory,
            backend=backend,
            policy_builder=policy_builder,
            argv=sys.argv if argv is None else ["python", "-m", "evals.run", *argv],
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())

"""One invocation of the runner on a prepared `RunPlan`: open (and lock) the run directory, run the
episodes, record them, finalise (consolidate, summarise, run.json), report.

Ctrl-C (or SIGTERM) stops the executor; whatever finished is consolidated and run.json says
"interrupted", so the directory is a valid partial run that `--resume` completes.
"""

from __future__ import annotations

import copy
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from evals.dataset.sink import DatasetSink
from evals.runner.backend import EnvBackend
from evals.runner.executors import WorkerStartError, make_executor
from evals.runner.exit_codes import EXIT_EPISODE_ERRORS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from evals.runner.plan import RunPlan, default_run_dir
from evals.runner.progress import Progress
from evals.runner.provenance import git_commit, host_info, package_versions, utc_now
from evals.runner.recorder import RunRecorder
from evals.runner.spec import EpisodeSpec
from evals.runner.stats import summarize
from evals.runner.suite import FORMAT_VERSION
from evals.runner.summary import format_table, write_summary
from evals.runner.worker import JobConfig

RUN_JSON_VERSION = 1


@dataclass
class _Session:
    """The open run: its recorder, the run.json document being kept up to date, and this session's entry."""

    plan: RunPlan
    recorder: RunRecorder
    info: dict[str, Any]
    session: dict[str, Any]
    policy_name: str
    case_order: list[str] = field(default_factory=list)
    dataset: DatasetSink | None = None  # `--dataset`: finished episodes also go here, in suite order


@dataclass(frozen=True)
class _Outcome:
    status: str  # completed | interrupted | failed
    message: str
    finished: int
    errors: int
    summary: Any  # pandas DataFrame (the summary table)


class _RunDirUnavailable(Exception):
    """The run directory already holds a run, or another runner holds its lock (message: one line)."""


def _new_run_info(plan: RunPlan, argv: list[str], description: dict[str, Any]) -> dict[str, Any]:
    return {
        "run_json_version": RUN_JSON_VERSION,
        "status": "running",
        "suite_format_version": FORMAT_VERSION,
        "suite_name": plan.suite.name,
        "suite_version": plan.suite.version,
        "started_at": utc_now(),
        "ended_at": None,
        "command_line": argv,
        "policy_spec": plan.policy.spec,
        "checkpoint": plan.policy.checkpoint,
        "policy_options": dict(plan.policy.options),
        "policy": description,
        "selection": plan.selection.to_dict(),
        "video": plan.output.video,
        "video_stride": plan.output.video_stride,
        "workers": plan.executor.workers,
        "batch": plan.executor.batch,
        "executor": plan.executor.to_dict(),
        "task_fingerprints": dict(plan.fingerprints),
        "package_versions": package_versions(),
        "git_commit": git_commit(),
        "host": host_info(),
        "sessions": [],
        "suite": plan.suite.to_dict(),
    }


def _open_run(plan: RunPlan, argv: list[str], description: dict[str, Any]) -> _Session:
    """Claim the run directory (new, or the one being resumed), lock it, and record this session."""
    policy_name = str(description.get("name") or plan.policy.spec)
    recorder = RunRecorder(plan.output.run_dir or default_run_dir(plan.suite.name, policy_name))
    if not plan.is_resume and recorder.run_json.exists():
        raise _RunDirUnavailable(
            f"{recorder.run_dir} already holds a run; use --resume {recorder.run_dir} or another --output"
        )
    recorder.run_dir.mkdir(parents=True, exist_ok=True)
    if not recorder.try_lock():
        raise _RunDirUnavailable(f"{recorder.run_dir} is in use by another runner process")
    recorder.prepare()
    info = copy.deepcopy(dict(plan.resumed)) if plan.resumed is not None else None
    info = info or _new_run_info(plan, argv, description)
    workers = plan.executor.workers
    batch = plan.executor.batch
    session = {
        "started_at": utc_now(),
        "command_line": argv,
        "workers": workers,
        "batch": batch,
        "executor": plan.executor.to_dict(),
        "ended_at": None,
    }
    info["sessions"].append(session)
    info["status"] = "running"
    recorder.write_run_json(info)
    case_order = [c["id"] for c in plan.suite.cases]
    return _Session(plan, recorder, info, session, policy_name, case_order)


def _progress(run: _Session, specs: list[EpisodeSpec], todo: list[EpisodeSpec]) -> Progress:
    done_before = len(specs) - len(todo)
    succeeded_before = 0
    if done_before:
        episodes, _ = run.recorder.consolidate(run.case_order)
        succeeded_before = int(sum(episodes.column("success").to_pylist()))
    quiet = run.plan.output.quiet
    if not quiet:
        print(
            f"run directory: {run.recorder.run_dir}  ({len(todo)} episodes to run, {done_before} already done)",
            file=sys.stderr,
        )
    return Progress(len(specs), already_done=done_before, already_succeeded=succeeded_before, quiet=quiet)


def _loop(
    run: _Session, todo: list[EpisodeSpec], config: JobConfig, factory: Any, progress: Progress
) -> tuple[str, str]:
    """Run the episodes, recording each as it finishes. Returns (status, failure message)."""
    try:
        executor = make_executor(run.plan.executor)
        for result in executor.run(todo, config, factory=factory):
            run.recorder.append(result, run.policy_name)
            _note_joint_limits(run.info, result)
            if run.dataset is not None:
                run.dataset.add(result)
            progress.update(result.row)
    except KeyboardInterrupt:
        return "interrupted", ""
    except WorkerStartError as e:
        return "failed", str(e)
    return "completed", ""


def _note_joint_limits(info: dict[str, Any], result: Any) -> None:
    """run.json["joint_limits"][embodiment] = {"low": [...], "high": [...]}, from the first episode that
    built the embodiment's env (trajectory analysis reads it instead of importing the simulator)."""
    if result.joint_limits is None:
        return
    low, high = result.joint_limits
    info.setdefault("joint_limits", {}).setdefault(result.spec.embodiment, {"low": low, "high": high})


@contextmanager
def _signals_ignored() -> Iterator[None]:
    # A second Ctrl-C (or a SIGTERM) must not tear the consolidation.
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _finalise(run: _Session, n_selected: int, factory: Any, status: str, message: str) -> _Outcome:
    """Consolidate the parts, write summary.csv and the final run.json; release the policy and the lock."""
    with _signals_ignored():
        try:
            in_process = run.plan.executor.kind == "local" and run.plan.executor.workers == 1
            if in_process:  # lazily built policies (dreamzero) only know their metadata now
                run.info["policy"] = factory.describe()
            factory.close()
            episodes, steps = run.recorder.consolidate(run.case_order)
            ep_df = episodes.to_pandas()
            step_cols = steps.select(["case_id", "seed", "policy_called", "policy_latency_ms"]).to_pandas()
            summary = summarize(ep_df, step_cols)
            write_summary(summary, run.recorder.run_dir)
            errors = int((ep_df["termination_reason"] == "error").sum()) if len(ep_df) else 0
            now = utc_now()
            run.session["ended_at"] = run.info["ended_at"] = now
            run.session["status"] = run.info["status"] = status
            run.info["episodes_selected"] = n_selected
            run.info["episodes_finished"] = len(ep_df)
            run.info["episodes_errored"] = errors
            if message:
                run.info["failure"] = message
            run.recorder.write_run_json(run.info)
            if run.dataset is not None:  # after the run's own records; Ctrl-C keeps the episodes so far
                run.dataset.close()
        finally:
            run.recorder.unlock()
    return _Outcome(status, message, len(ep_df), errors, summary)


def _report(run: _Session, n_selected: int, outcome: _Outcome) -> int:
    """Print the table and the one-line outcome; return the exit code."""
    if outcome.finished:
        print(format_table(outcome.summary), end="")
    run_dir = run.recorder.run_dir
    print(f"{outcome.status}: {outcome.finished}/{n_selected} episodes, {outcome.errors} errors -> {run_dir}")
    if outcome.status == "interrupted":
        print(f"interrupted; continue with: python -m evals.run --resume {run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if outcome.status == "failed":
        print(f"error: {outcome.message}", file=sys.stderr)
        return EXIT_EPISODE_ERRORS
    return EXIT_EPISODE_ERRORS if outcome.errors else EXIT_OK


def run_session(
    plan: RunPlan,
    specs: list[EpisodeSpec],
    factory: Any,
    *,
    backend: EnvBackend,
    policy_builder: Callable[..., Any],
    argv: list[str],
) -> int:
    """Run the plan's selected `specs` (skipping finished ones) with the built policy `factory`; return
    the exit code. `argv` is recorded in run.json."""
    try:
        run = _open_run(plan, argv, factory.describe())
    except _RunDirUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        factory.close()
        return EXIT_USAGE
    finished = run.recorder.finished_keys()
    todo = [s for s in specs if (s.case_id, s.seed) not in finished]
    progress = _progress(run, specs, todo)
    config = JobConfig(
        backend=backend,
        policy=plan.policy,
        video=plan.output.video,
        video_stride=plan.output.video_stride,
        run_dir=str(run.recorder.run_dir),
        policy_builder=policy_builder,
        dataset=plan.dataset,
        batch=plan.executor.batch,
    )
    if plan.dataset is not None:  # a dataset is only recorded by a fresh run, so `todo` is every episode
        run.dataset = DatasetSink(plan.dataset, todo, fps=todo[0].control_freq if todo else 15)
    status, message = "failed", ""
    try:
        status, message = _loop(run, todo, config, factory, progress)
    except Exception as e:  # a runner bug or a full disk: record it, then let the traceback show
        message = f"{type(e).__name__}: {e}"
        raise
    finally:
        progress.close()
        outcome = _finalise(run, len(specs), factory, status, message)
    return _report(run, len(specs), outcome)

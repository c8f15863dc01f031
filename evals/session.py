"""One invocation of the runner on a prepared plan: write run.json, run the episodes, record, summarise.

Ctrl-C (or SIGTERM) stops the executor; whatever finished is consolidated and run.json says
"interrupted", so the directory is a valid partial run that `--resume` completes.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from evals.provenance import git_commit, host_info, package_versions, utc_now
from evals.recorder import RunRecorder
from evals.suite import FORMAT_VERSION

RUN_JSON_VERSION = 1


def _new_run_info(
    plan: dict[str, Any], argv: list[str], description: dict[str, Any], workers: int
) -> dict[str, Any]:
    return {
        "run_json_version": RUN_JSON_VERSION,
        "status": "running",
        "suite_format_version": FORMAT_VERSION,
        "suite_name": plan["suite"].name,
        "suite_version": plan["suite"].version,
        "started_at": utc_now(),
        "ended_at": None,
        "command_line": argv,
        "policy_spec": plan["policy_spec"],
        "checkpoint": plan["checkpoint"],
        "policy": description,
        "selection": plan["selection"],
        "video": plan["video"],
        "workers": workers,
        "task_fingerprints": plan["fingerprints"],
        "package_versions": package_versions(),
        "git_commit": git_commit(),
        "host": host_info(),
        "sessions": [],
        "suite": plan["suite"].to_dict(),
    }


def run_session(
    *,
    args: Any,
    argv: list[str],
    plan: dict[str, Any],
    specs: list[Any],
    factory: Any,
    backend: Any,
    policy_builder: Any,
) -> int:
    from evals.executors import LocalExecutor, WorkerStartError
    from evals.progress import Progress
    from evals.report import format_table, write_summary
    from evals.run import EXIT_EPISODE_ERRORS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, _default_run_dir
    from evals.stats import summarize
    from evals.worker import JobConfig

    description = factory.describe()
    policy_name = str(description.get("name") or plan["policy_spec"])
    recorder: RunRecorder = plan["recorder"] or RunRecorder(_default_run_dir(plan["suite"].name, policy_name))
    if plan["previous"] is None and recorder.run_json.exists():
        print(
            f"error: {recorder.run_dir} already holds a run; use --resume {recorder.run_dir} or another --output",
            file=sys.stderr,
        )
        factory.close()
        return EXIT_USAGE
    recorder.run_dir.mkdir(parents=True, exist_ok=True)
    if not recorder.try_lock():
        print(f"error: {recorder.run_dir} is in use by another runner process", file=sys.stderr)
        factory.close()
        return EXIT_USAGE
    recorder.prepare()
    info = plan["previous"] or _new_run_info(plan, argv, description, args.workers)
    session = {"started_at": utc_now(), "command_line": argv, "workers": args.workers, "ended_at": None}
    info["sessions"].append(session)
    info["status"] = "running"
    recorder.write_run_json(info)

    case_order = [c["id"] for c in plan["suite"].cases]
    finished = recorder.finished_keys()
    todo = [s for s in specs if (s.case_id, s.seed) not in finished]
    done_before = len(specs) - len(todo)
    succeeded_before = 0
    if done_before:
        episodes, _ = recorder.consolidate(case_order)
        succeeded_before = int(sum(episodes.column("success").to_pylist()))
    if not args.quiet:
        print(
            f"run directory: {recorder.run_dir}  ({len(todo)} episodes to run, {done_before} already done)",
            file=sys.stderr,
        )
    config = JobConfig(
        backend=backend,
        policy_spec=plan["policy_spec"],
        checkpoint=plan["checkpoint"],
        video=plan["video"],
        run_dir=str(recorder.run_dir),
        policy_builder=policy_builder,
        dataset=plan.get("dataset"),
    )
    sink = None
    if config.dataset is not None:
        from evals.dataset.sink import DatasetSink

        sink = DatasetSink(config.dataset, todo, fps=todo[0].control_freq if todo else 15)
    progress = Progress(
        len(specs), already_done=done_before, already_succeeded=succeeded_before, quiet=args.quiet
    )
    status, message = "completed", ""
    try:
        for result in LocalExecutor(args.workers).run(todo, config, factory=factory):
            recorder.append(result, policy_name)
            if sink is not None:
                sink.add(result)
            progress.update(result.row)
    except KeyboardInterrupt:
        status = "interrupted"
    except WorkerStartError as e:
        status, message = "failed", str(e)
    except Exception as e:  # a runner bug or a full disk: record it, then let the traceback show
        status, message = "failed", f"{type(e).__name__}: {e}"
        raise
    finally:
        # A second Ctrl-C (or a SIGTERM) must not tear the consolidation.
        previous_handlers = {
            sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            progress.close()
            if sink is not None:
                sink.close()
            if args.workers == 1:  # lazily built policies (dreamzero) only know their metadata now
                info["policy"] = factory.describe()
            factory.close()
            episodes, steps = recorder.consolidate(case_order)
            ep_df = episodes.to_pandas()
            summary = summarize(
                ep_df, steps.select(["case_id", "seed", "policy_called", "policy_latency_ms"]).to_pandas()
            )
            write_summary(summary, recorder.run_dir)
            errors = int((ep_df["termination_reason"] == "error").sum()) if len(ep_df) else 0
            now = utc_now()
            session["ended_at"] = info["ended_at"] = now
            session["status"] = info["status"] = status
            info["episodes_selected"] = len(specs)
            info["episodes_finished"] = len(ep_df)
            info["episodes_errored"] = errors
            if message:
                info["failure"] = message
            recorder.write_run_json(info)
        finally:
            recorder.unlock()
            for sig, handler in previous_handlers.items():
                signal.signal(sig, handler)
    if len(ep_df):
        print(format_table(summary), end="")
    print(f"{status}: {len(ep_df)}/{len(specs)} episodes, {errors} errors -> {recorder.run_dir}")
    if status == "interrupted":
        print(f"interrupted; continue with: python -m evals.run --resume {recorder.run_dir}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if status == "failed":
        print(f"error: {message}", file=sys.stderr)
        return EXIT_EPISODE_ERRORS
    return EXIT_EPISODE_ERRORS if errors else EXIT_OK

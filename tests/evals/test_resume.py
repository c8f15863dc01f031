"""Crash safety: a real `kill -9` loses at most the episodes in flight and `--resume` completes the run;
SIGINT (Ctrl-C) leaves a valid partial run marked "interrupted"."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import (
    REPO,
    assert_killed_worker_rows,
    assert_same_results,
    cli_command,
    fake_env,
    killed_worker_args,
    main,
    run_main,
    suite_doc,
    write_suite,
)

TRIALS = 6  # per case, 2 cases
EPISODES = 2 * TRIALS


def _suite(tmp_path):
    doc = suite_doc(
        defaults={"task": "FakeReach", "num_trials": TRIALS, "horizon": 20, "image_size": [24, 32]}
    )
    doc["cases"] = [{"id": "a"}, {"id": "b", "embodiment": "ur5e"}]
    return write_suite(tmp_path, doc)


def _start(tmp_path, run_dir, *extra):
    args = ["--suite", _suite(tmp_path), "--policy", "slow", "--output", run_dir, "--video", "none", *extra]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        cli_command(args),
        cwd=REPO,
        env=env,
        start_new_session=True,
        # a shell that starts jobs in the background (nohup, `cmd &`, some CI runners) hands them SIGINT
        # ignored, and Python then installs no KeyboardInterrupt handler: give the run Ctrl-C semantics
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_parts(proc, run_dir, n, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        parts = list((run_dir / "episodes").glob("*.parquet")) if (run_dir / "episodes").is_dir() else []
        if len(parts) >= n:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("run made no progress")


def _reference(tmp_path):
    ref = tmp_path / "ref"
    assert (
        run_main(
            ["--suite", _suite(tmp_path), "--policy", "slow", "--output", ref, "--video", "none", "--quiet"]
        )
        == 0
    )
    return ref


def test_resume_after_kill_9(tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(tmp_path, run_dir, "--workers", "2")
    _wait_for_parts(proc, run_dir, 3)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, like a machine crash
    proc.wait(timeout=10)
    done = len(list((run_dir / "episodes").glob("*.parquet")))
    assert 3 <= done < EPISODES
    assert (
        json.loads((run_dir / "run.json").read_text())["status"] == "running"
    )  # it never got to say otherwise
    assert run_main(["--resume", run_dir, "--quiet"]) == 0
    info = json.loads((run_dir / "run.json").read_text())
    assert (
        info["status"] == "completed" and len(info["sessions"]) == 2 and info["episodes_finished"] == EPISODES
    )
    assert_same_results(run_dir, _reference(tmp_path))


def test_sigint_leaves_valid_partial_run(tmp_path):
    run_dir = tmp_path / "run"
    proc = _start(tmp_path, run_dir)
    _wait_for_parts(proc, run_dir, 2)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "interrupted"
    ep = pd.read_parquet(run_dir / "episodes.parquet")
    assert 2 <= len(ep) < EPISODES and len(ep) == info["episodes_finished"]
    assert (run_dir / "summary.csv").is_file()
    assert run_main(["--resume", run_dir, "--quiet"]) == 0
    assert_same_results(run_dir, _reference(tmp_path))


def test_resume_rejects_changed_selection(tmp_path, capsys):
    ref = _reference(tmp_path)
    assert run_main(["--resume", ref, "--cases", "a"]) == 2
    assert "--resume reuses the run's selection" in capsys.readouterr().err
    assert run_main(["--resume", tmp_path / "nothing"]) == 2


def test_dead_worker_is_retried_once_then_recorded(tmp_path):
    out = tmp_path / "run"
    assert run_main(killed_worker_args(tmp_path, out, "--workers", "2")) == 1
    assert_killed_worker_rows(out)


def _changed_task_info(task):
    return {**fake_env.fake_task_info(task), "fingerprint": "edited"}


def test_resume_refuses_when_a_task_changed(tmp_path, capsys):
    run_dir = tmp_path / "run"
    args = ["--suite", write_suite(tmp_path), "--output", run_dir, "--quiet", "--max-episodes", "1"]
    assert run_main(args) == 0
    backend = dataclasses.replace(fake_env.fake_backend(), task_info=_changed_task_info)
    rc = main(["--resume", str(run_dir)], backend=backend, policy_builder=fake_env.make_fake_factory)
    assert rc == 2 and "changed since this run started" in capsys.readouterr().err


def test_a_run_directory_is_used_by_one_runner_at_a_time(tmp_path, capsys):
    from evals.runner.recorder import RunRecorder

    run_dir = tmp_path / "run"
    assert (
        run_main(["--suite", write_suite(tmp_path), "--output", run_dir, "--quiet", "--max-episodes", "1"])
        == 0
    )
    holder = RunRecorder(run_dir)
    assert holder.try_lock()  # as if another runner were resuming it right now
    assert run_main(["--resume", run_dir, "--quiet"]) == 2
    assert "in use by another runner" in capsys.readouterr().err


class _CountingBuilder:
    """The fake policy builder, remembering which episodes each built factory was asked for."""

    def __init__(self):
        self.episodes: list[tuple[str, int]] = []

    def __call__(self, spec, *, checkpoint=None, options=None):
        factory = fake_env.make_fake_factory(spec, checkpoint=checkpoint, options=options)
        inner = factory.for_episode

        def for_episode(env, *, seed, episode_key):
            self.episodes.append((episode_key["case_id"], episode_key["seed"]))
            return inner(env, seed=seed, episode_key=episode_key)

        factory.for_episode = for_episode
        return factory


def _fast_run(tmp_path, run_dir):
    return run_main(["--suite", _suite(tmp_path), "--output", run_dir, "--video", "none", "--quiet"])


def test_resume_runs_only_the_missing_episodes(tmp_path):
    run_dir = tmp_path / "run"
    assert _fast_run(tmp_path, run_dir) == 0
    shutil.copytree(run_dir, tmp_path / "complete")
    parts = sorted((run_dir / "episodes").glob("*.parquet"))
    missing = {parts[1].name, parts[7].name}
    for name in missing:  # as if the run had died before these two finished
        (run_dir / "episodes" / name).unlink()
        (run_dir / "steps" / name).unlink()
    kept = {p.name: p.stat().st_ino for p in (run_dir / "episodes").glob("*.parquet")}
    builder = _CountingBuilder()
    rc = main(["--resume", str(run_dir), "--quiet"], backend=fake_env.fake_backend(), policy_builder=builder)
    assert rc == 0
    assert sorted(f"{c}__seed{s}.parquet" for c, s in builder.episodes) == sorted(missing)
    # Finished parts are untouched (a rewrite would replace the file: new inode).
    assert {n: (run_dir / "episodes" / n).stat().st_ino for n in kept} == kept
    assert_same_results(run_dir, tmp_path / "complete")


def test_a_crash_in_the_middle_of_a_part_write_leaves_a_resumable_run(tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    real_write = pq.write_table
    calls = {"n": 0}

    def torn_write(table, where, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:  # the third episode's episodes part (its commit marker): half a file, then death
            Path(where).write_bytes(b"PAR1\x15\x04partial")
            raise OSError("simulated crash during write")
        return real_write(table, where, *args, **kwargs)

    monkeypatch.setattr(pq, "write_table", torn_write)
    run_dir = tmp_path / "run"
    with pytest.raises(OSError, match="simulated crash"):
        _fast_run(tmp_path, run_dir)
    monkeypatch.setattr(pq, "write_table", real_write)
    # Every part that counts as finished is a complete, readable table.
    finished = sorted((run_dir / "episodes").glob("*.parquet"))
    assert len(finished) == 2
    for part in finished:
        pq.read_table(part)
        pq.read_table(run_dir / "steps" / part.name)
    assert run_main(["--resume", run_dir, "--quiet"]) == 0
    assert _fast_run(tmp_path, tmp_path / "uninterrupted") == 0
    assert_same_results(run_dir, tmp_path / "uninterrupted")

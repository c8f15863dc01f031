"""`--executor ray` on a local Ray cluster (loopback only): the same tables as the local executor, a killed
worker retried on another one, Ctrl-C, a remote policy served to every worker, and the one-line error
without the `ray` package."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import (
    HERE,
    REPO,
    assert_killed_worker_rows,
    assert_same_results,
    cli_command,
    fake_env,
    killed_worker_args,
    main,
    run_main,
    write_suite,
)
from test_resume import _suite, _wait_for_parts  # the kill -9 / SIGINT tests' suite and progress wait

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def ray_cluster():
    """One local cluster for the module; its runtime env ships the project and puts the fake env package
    (this folder) on the workers' path, as `evals.runner.ray_executor.connect` does for a real run."""
    ray = pytest.importorskip("ray")
    from evals.runner.ray_executor import runtime_env

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        logging_level="WARNING",
        _node_ip_address="127.0.0.1",
        runtime_env=runtime_env({"PYTHONPATH": str(HERE)}),
    )
    yield ray
    ray.shutdown()


def _videos(run_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((run_dir / "videos").glob("*.mp4"))}


def test_ray_gives_the_tables_of_the_local_executor(ray_cluster, tmp_path):
    suite = write_suite(tmp_path)  # 5 episodes, all failed under `random` (one errors): each gets a video
    common = ["--suite", suite, "--policy", "random", "--quiet", "--video", "failures"]
    runs = {}
    for name, extra in {
        "ray": ["--executor", "ray", "--workers", "2"],
        "local1": ["--workers", "1"],
        "local2": ["--workers", "2"],
    }.items():
        runs[name] = tmp_path / name
        assert run_main([*common, *extra, "--output", runs[name]]) == 1  # the FakeCrash error
    assert_same_results(runs["ray"], runs["local1"])
    assert_same_results(runs["ray"], runs["local2"])
    # The MP4s came back as bytes and the driver wrote them: the same files a local worker writes.
    ray_videos = _videos(runs["ray"])
    assert len(ray_videos) == 5 and all(ray_videos.values())
    assert ray_videos == _videos(runs["local1"])
    info = json.loads((runs["ray"] / "run.json").read_text())
    assert info["executor"]["kind"] == "ray" and info["sessions"][0]["executor"]["workers"] == 2


def test_killed_ray_worker_is_retried_and_the_run_completes(ray_cluster, tmp_path):
    ray_run, local_run = tmp_path / "ray", tmp_path / "local"
    assert run_main(killed_worker_args(tmp_path, ray_run, "--executor", "ray", "--workers", "2")) == 1
    info = json.loads((ray_run / "run.json").read_text())
    assert info["status"] == "completed" and info["episodes_finished"] == 6
    assert_killed_worker_rows(ray_run)
    # The same crashes give the same table under the local executor.
    assert run_main(killed_worker_args(tmp_path, local_run, "--workers", "2")) == 1
    assert_same_results(ray_run, local_run)


def test_remote_policy_is_served_to_every_ray_worker(ray_cluster, tmp_path):
    from evals.policies.baselines import ActionSpec, ZeroPolicy
    from evals.serve.server import ServerThread

    suite = write_suite(tmp_path)
    runs = {"ray": ["--executor", "ray", "--workers", "2"], "local": ["--workers", "1"]}
    with ServerThread(ZeroPolicy(ActionSpec.default("joint_position"))) as srv:
        for name, extra in runs.items():
            args = ["--suite", str(suite), "--policy", f"remote:127.0.0.1:{srv.port}", "--video", "none"]
            rc = main(
                [*args, *extra, "--quiet", "--output", str(tmp_path / name)], backend=fake_env.fake_backend()
            )
            assert rc == 1  # the FakeCrash episode
    ep = pd.read_parquet(tmp_path / "ray" / "episodes.parquet")
    assert (ep[ep.case_id != "crash"].policy_calls > 0).all() and ep.error_type.tolist()[-1] == "RuntimeError"
    assert_same_results(tmp_path / "ray", tmp_path / "local")


def test_without_ray_the_executor_is_a_one_line_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    rc = run_main(["--suite", write_suite(tmp_path), "--executor", "ray", "--output", tmp_path / "run"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.splitlines() == [
        "error: --executor ray needs the ray package: pip install '.[ray]' (or use --executor local)"
    ]
    assert not (tmp_path / "run").exists()  # nothing ran


def test_ray_flags_need_the_ray_executor_and_valid_values(tmp_path, capsys):
    suite = write_suite(tmp_path)
    for args, message in [
        (["--episode-gpus", "1"], "need --executor ray"),
        (["--executor", "ray", "--episode-resource", "TPU"], "expected NAME=AMOUNT"),
        (["--executor", "ray", "--episode-resource", "GPU=1"], "use --episode-cpus / --episode-gpus"),
        (["--executor", "ray", "--episode-cpus", "-1"], "must be >= 0"),
    ]:
        assert run_main(["--suite", suite, "--output", tmp_path / "run", *args]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_ctrl_c_stops_the_ray_run_cleanly(tmp_path):
    """The run starts its own local cluster; Ctrl-C kills the actors, shuts the cluster down and leaves a
    valid partial run that --resume (here with the local executor) completes."""
    pytest.importorskip("ray")
    run_dir = tmp_path / "run"
    args = ["--suite", _suite(tmp_path), "--policy", "slow", "--output", run_dir, "--video", "none"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE)])}
    proc = subprocess.Popen(
        cli_command([*args, "--executor", "ray", "--workers", "2"]),
        cwd=REPO,
        env=env,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_parts(proc, run_dir, 2, timeout=120)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole process group
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "--resume" in err
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert run_main(["--resume", run_dir, "--quiet"]) == 0
    assert json.loads((run_dir / "run.json").read_text())["status"] == "completed"

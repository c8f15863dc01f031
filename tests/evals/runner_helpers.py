"""Shared helpers for the runner tests (fake suites, CLI invocations, table comparison)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
if str(HERE) not in sys.path:  # so `import fake_env` works here and in spawned workers
    sys.path.insert(0, str(HERE))

import fake_env  # noqa: E402

from evals.run import main  # noqa: E402
from evals.runner.columns import TIMING_COLUMNS  # noqa: E402

PYTHON = sys.executable
FAKE_CLI = HERE / "fake_cli.py"


def suite_doc(**overrides) -> dict:
    doc = {
        "format_version": 1,
        "name": "fake",
        "version": "3",
        "defaults": {
            "task": "FakeReach",
            "seeds": [0, 1],
            "horizon": 20,
            "image_size": [24, 32],
            "tags": ["base"],
        },
        "cases": [
            {"id": "reach_panda", "tags": ["panda"]},
            {
                "id": "reach_ur5e",
                "embodiment": "ur5e",
                "num_trials": 2,
                "seed_start": 5,
                "variations": {"object_pose": {"xy_range": 0.1}},
            },
            {"id": "crash", "task": "FakeCrash", "seeds": [0], "tags": ["crash"]},
        ],
    }
    doc.update(overrides)
    return doc


def write_suite(tmp_path: Path, doc: dict | None = None, name: str = "suite.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc if doc is not None else suite_doc(), indent=1))
    return path


def run_main(args: list[str]) -> int:
    """The CLI in-process with the fake env package and fake policies."""
    return main(
        [str(a) for a in args], backend=fake_env.fake_backend(), policy_builder=fake_env.make_fake_factory
    )


def cli_command(args: list[str]) -> list[str]:
    return [PYTHON, str(FAKE_CLI), *[str(a) for a in args]]


def run_cli(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        cli_command(args), capture_output=True, text=True, timeout=timeout, cwd=REPO, env=env
    )


def without_timing(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if c in TIMING_COLUMNS])


def assert_same_results(dir_a: Path, dir_b: Path) -> None:
    for table in ("episodes.parquet", "steps.parquet"):
        a = without_timing(pd.read_parquet(dir_a / table))
        b = without_timing(pd.read_parquet(dir_b / table))
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def killed_worker_args(tmp_path, out, *extra):
    """A run whose policy SIGKILLs its worker once in reach_panda seed 0 (retried: succeeds) and on every
    try of crash seeds 0 and 1 (recorded as errors); shared with the Ray executor's test."""
    doc = suite_doc()
    doc["cases"][2]["seeds"] = [0, 1]
    markers = tmp_path / f"markers-{out.name}"
    markers.mkdir()
    suite = write_suite(tmp_path, doc)
    return [
        *("--suite", suite, "--policy", "die_once", "--policy-opt", f"marker_dir={markers}"),
        *("--output", out, "--video", "none", "--quiet", *extra),
    ]


def assert_killed_worker_rows(out):
    ep = pd.read_parquet(out / "episodes.parquet")
    assert len(ep) == 6
    crashed = ep[ep.case_id == "crash"]
    assert crashed.error_type.tolist() == ["WorkerCrash"] * 2
    assert crashed.error.str.contains("worker process died during the episode").all()
    # rows: reach_panda 0 (killed once, retried), 1; reach_ur5e 5, 6; crash 0, 1 (killed on both tries)
    assert ep.attempts.tolist() == [2, 1, 1, 1, 2, 2]
    assert ep[ep.case_id != "crash"].success.all()

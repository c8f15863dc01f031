"""Same suite, seeds and policy -> identical tables apart from timing columns: across runs, across
`--workers 1` vs `--workers 2`, and regardless of which other episodes ran before."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import assert_same_results, run_main, suite_doc, without_timing, write_suite


def _suite(tmp_path):
    doc = suite_doc()
    doc["cases"].append({"id": "reach_long", "seeds": [3, 1, 2], "stop_on_success": False, "horizon": 10})
    return write_suite(tmp_path, doc)


def _run(tmp_path, name, *extra):
    rc = run_main(
        ["--suite", _suite(tmp_path), "--output", tmp_path / name, "--quiet", "--video", "none", *extra]
    )
    assert rc == 1  # the crash case errors
    return tmp_path / name


def test_two_runs_identical(tmp_path):
    a = _run(tmp_path, "a", "--policy", "random")
    b = _run(tmp_path, "b", "--policy", "random")
    assert_same_results(a, b)
    steps = pd.read_parquet(a / "steps.parquet")
    assert steps.groupby(["case_id", "seed"]).ngroups == 8


def test_workers_1_vs_2_identical(tmp_path):
    one = _run(tmp_path, "one", "--policy", "random", "--workers", "1")
    two = _run(tmp_path, "two", "--policy", "random", "--workers", "2")
    assert_same_results(one, two)
    ep = pd.read_parquet(two / "episodes.parquet")
    # rows sorted by (case order, seed), whatever order the workers finished in
    assert list(zip(ep.case_id, ep.seed, strict=True))[-3:] == [
        ("reach_long", 1),
        ("reach_long", 2),
        ("reach_long", 3),
    ]


def test_episode_independent_of_what_ran_before(tmp_path):
    full = _run(tmp_path, "full", "--policy", "random")
    rc = run_main(
        [
            "--suite",
            _suite(tmp_path),
            "--output",
            tmp_path / "alone",
            "--quiet",
            "--video",
            "none",
            "--policy",
            "random",
            "--cases",
            "reach_long",
        ]
    )
    assert rc == 0
    alone = without_timing(pd.read_parquet(tmp_path / "alone" / "episodes.parquet"))
    same = without_timing(pd.read_parquet(full / "episodes.parquet"))
    same = same[same.case_id == "reach_long"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, same, check_exact=True)

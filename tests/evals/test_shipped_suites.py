"""The shipped suites validate, cover what they promise, and docs/runner.md documents every field/column."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evals.runner.backend import default_backend
from evals.runner.columns import EPISODE_SCHEMA, STEP_SCHEMA
from evals.runner.suite import expand, load_suite, read_document

REPO = Path(__file__).resolve().parents[2]
SMOKE, DROID = REPO / "test_cases" / "smoke.json", REPO / "test_cases" / "droid.json"


SUITES = sorted((REPO / "test_cases").glob("*.json"))


@pytest.mark.parametrize("path", SUITES, ids=[p.stem for p in SUITES])
def test_shipped_suites_match_schema_and_resolve(path):
    doc = read_document(path)
    assert doc["format_version"] == 1
    assert expand(load_suite(path, default_backend()))  # task and embodiment names exist


def test_training_seeds_never_meet_evaluation_seeds():
    """Demonstrations and DAgger episodes train the shipped model; the evaluation suites must stay unseen."""

    def seeds(name):
        return {spec.seed for spec in expand(load_suite(REPO / "test_cases" / name, default_backend()))}

    trained = seeds("lift_demos.json") | seeds("lift_dagger.json")
    for name in ("lift_eval.json", "smoke.json", "droid.json"):
        assert not trained & seeds(name), name
    assert not seeds("lift_demos.json") & seeds("lift_dagger.json")


def test_smoke_is_small():
    suite = load_suite(SMOKE, default_backend())
    specs = expand(suite)
    assert 4 <= len(suite.cases) <= 10 and len(specs) <= 12
    assert all(s.horizon <= 150 for s in specs)
    assert len({s.task for s in specs}) >= 3 and len({s.embodiment for s in specs}) >= 2


def test_droid_covers_tasks_embodiments_paraphrases_and_variations():
    import envs

    suite = load_suite(DROID, default_backend())
    cases = suite.cases
    assert len(cases) >= 100
    assert {c["task"] for c in cases} == set(envs.list_tasks())
    assert {c["embodiment"] for c in cases} == set(envs.list_embodiments())
    for task in envs.list_tasks():
        used = {c["instruction"] for c in cases if c["task"] == task}
        assert set(envs.task_info(task)["paraphrases"]) <= used
    kinds = {k for c in cases for k in c["variations"]}
    assert kinds == {"object_pose", "distractors", "camera_jitter", "lighting", "table_texture"}
    assert all(c["tags"] for c in cases)


def test_droid_json_is_up_to_date_with_its_generator():
    spec = importlib.util.spec_from_file_location("generate_droid", REPO / "test_cases" / "generate_droid.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    assert json.loads(DROID.read_text()) == gen.build(), "run: python test_cases/generate_droid.py"


def test_docs_cover_schema_fields_and_columns():
    docs = (REPO / "docs" / "runner.md").read_text()
    schema = json.loads((REPO / "evals" / "runner" / "schema.json").read_text())
    fields = set(schema["properties"]) | set(schema["$defs"]["case_fields"]["properties"]) | {"id"}
    fields |= set(schema["$defs"]["case_fields"]["properties"]["variations"]["properties"])
    missing = sorted(f for f in fields if f"`{f}`" not in docs)
    assert not missing, f"docs/runner.md does not document {missing}"
    columns = set(EPISODE_SCHEMA.names) | set(STEP_SCHEMA.names)
    missing = sorted(c for c in columns if f"`{c}`" not in docs)
    assert not missing, f"docs/runner.md does not document columns {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("policy, rate", [("expert", 1.0), ("random", 0.0)])
def test_smoke_suite_end_to_end(tmp_path, policy, rate):
    """The issue's "done when": ./dev smoke with expert succeeds, random does not; every file is written."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "MUJOCO_GL": "egl"}
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "evals.run",
        "--suite",
        str(SMOKE),
        "--policy",
        policy,
        "--output",
        str(out),
        "--quiet",
    ]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ep = pd.read_parquet(out / "episodes.parquet")
    assert ep.success.mean() == rate
    for name in ("run.json", "steps.parquet", "summary.csv"):
        assert (out / name).is_file()
    assert len(list((out / "videos").glob("*.mp4"))) == int((~ep.success).sum())


def test_real_env_episode_through_the_runner(tmp_path):
    """Contract check against the real envs package and the real expert policy (one short episode)."""
    from evals.run import main

    out = tmp_path / "run"
    args = ["--suite", str(SMOKE), "--cases", "push_to_target-panda", "--policy", "expert", "--video", "none"]
    assert main([*args, "--output", str(out), "--quiet"]) == 0
    ep = pd.read_parquet(out / "episodes.parquet")
    assert ep.success.tolist() == [True] and ep.termination_reason.tolist() == ["success"]
    assert any(c.startswith("var.") for c in ep.columns)
    steps = pd.read_parquet(out / "steps.parquet")
    assert len(steps) == ep.steps.iloc[0] and len(steps.action.iloc[0]) == 8
    info = json.loads((out / "run.json").read_text())
    assert info["task_fingerprints"]["PushToTarget"]


@pytest.mark.slow
def test_real_env_workers_1_vs_2_identical(tmp_path):
    """Determinism on the real envs (random policy exercises the whole horizon)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from runner_helpers import assert_same_results

    from evals.run import main

    base = ["--suite", str(SMOKE), "--policy", "random", "--video", "none", "--quiet"]
    assert main([*base, "--workers", "1", "--output", str(tmp_path / "one")]) == 0
    assert main([*base, "--workers", "2", "--output", str(tmp_path / "two")]) == 0
    assert_same_results(tmp_path / "one", tmp_path / "two")


@pytest.mark.slow
def test_replaying_a_run_reproduces_it_exactly(tmp_path):
    """steps.parquet is a complete record: `--policy replay:<it>` re-runs the same trajectories bit for bit."""
    import numpy as np

    from evals.run import main

    base = ["--suite", str(SMOKE), "--cases", "push_to_target-panda", "--cases", "lift-panda", "--quiet"]
    assert main([*base, "--policy", "expert", "--output", str(tmp_path / "expert")]) == 0
    replay = f"replay:{tmp_path / 'expert' / 'steps.parquet'}"
    assert main([*base, "--policy", replay, "--output", str(tmp_path / "replay")]) == 0
    a, b = (pd.read_parquet(tmp_path / run / "steps.parquet") for run in ("expert", "replay"))
    assert len(a) == len(b)
    for col in ("action", "joint_position"):
        assert all(np.array_equal(x, y) for x, y in zip(a[col], b[col], strict=True)), col
    assert a.success.tolist() == b.success.tolist()

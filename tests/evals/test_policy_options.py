"""`--policy-opt KEY=VALUE` on both CLIs, typed by the one registry; what `evals.serve` can serve."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evals.policies.baselines import ActionSpec, RandomPolicy
from evals.policies.options import PolicyOptionError, coerce, parse_policy_opts
from evals.policies.registry import PolicySpecError, build_served, parse, servable_names
from evals.serve.__main__ import main as serve_main
from tests.evals.policy_fakes import FakeDreamZero
from tests.evals.runner_helpers import fake_env, write_suite


# -- parsing --------------------------------------------------------------------------------------------
def test_key_value_pairs_parse_and_values_may_hold_equals_signs():
    assert parse_policy_opts(["seed=3", "config=a=b", "empty="]) == {
        "seed": "3",
        "config": "a=b",
        "empty": "",
    }
    assert parse_policy_opts(None) == {}


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (["seed"], r"expects KEY=VALUE \(e.g. seed=3\), got 'seed'"),
        (["=3"], r"expects KEY=VALUE"),
        (["seed=1", "seed=2"], r"seed given twice \('1' and '2'\)"),
    ],
)
def test_malformed_options_are_option_errors(items, message):
    with pytest.raises(PolicyOptionError, match=message):
        parse_policy_opts(items)


def test_options_are_typed_by_the_registry():
    assert parse("dreamzero", options={"seed": "7", "config": "tiny"}).options == {
        "seed": 7,
        "config": "tiny",
    }
    assert parse("remote:h:1", options={"reply_timeout": "2.5"}).options == {"reply_timeout": 2.5}
    assert [coerce(bool, w) for w in ("true", "No", "1", "off")] == [True, False, True, False]
    with pytest.raises(ValueError, match="expected true or false"):
        coerce(bool, "maybe")


# -- evals.run --------------------------------------------------------------------------------------------
def _run(tmp_path, name, *extra):
    from evals.run import main

    out = tmp_path / name
    suite = write_suite(tmp_path)
    args = ["--suite", suite, "--cases", "reach_panda", "--output", out, "--quiet", "--video", "none", *extra]
    rc = main([str(a) for a in args], backend=fake_env.fake_backend())
    return rc, out


def _actions_per_seed(run_dir):
    steps = pd.read_parquet(run_dir / "steps.parquet")
    return {seed: np.stack(group.sort_values("step")["action"]) for seed, group in steps.groupby("seed")}


@pytest.mark.parametrize("workers", [1, 2])
def test_run_passes_policy_options_to_every_worker(tmp_path, workers):
    rc, own = _run(tmp_path, "own", "--policy", "random")
    assert rc == 0
    own_actions = _actions_per_seed(own)
    assert not np.array_equal(own_actions[0], own_actions[1])  # by default each episode has its own seed
    rc, fixed = _run(tmp_path, "fixed", "--policy", "random", "--policy-opt", "seed=5", "--workers", workers)
    assert rc == 0
    fixed_actions = _actions_per_seed(fixed)
    np.testing.assert_array_equal(fixed_actions[0], fixed_actions[1])  # seed=5 reached the policy
    assert not np.array_equal(fixed_actions[0], own_actions[0])
    info = json.loads((fixed / "run.json").read_text())
    assert info["policy"]["options"] == {"seed": 5}


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        (["seed"], "error: --policy-opt expects KEY=VALUE"),
        (["temperature=1"], "error: unknown option(s) ['temperature'] for policy 'random'; allowed: seed"),
        (["seed=high"], "error: option seed='high' for policy 'random'"),
    ],
)
def test_run_refuses_bad_options_with_one_line(tmp_path, capsys, opts, message):
    extra = [a for o in opts for a in ("--policy-opt", o)]
    rc, out = _run(tmp_path, "bad", "--policy", "random", *extra)
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith(message) and err.count("\n") == 1
    assert not out.exists()


def test_resume_reuses_the_recorded_options_and_refuses_new_ones(tmp_path, capsys):
    rc, run_dir = _run(tmp_path, "r", "--policy", "random", "--policy-opt", "seed=5", "--max-episodes", "1")
    assert rc == 0
    from evals.run import main

    resume = ["--resume", str(run_dir), "--quiet"]
    assert main([*resume, "--policy-opt", "seed=6"], backend=fake_env.fake_backend()) == 2
    assert "drop --policy-opt" in capsys.readouterr().err
    assert main(resume, backend=fake_env.fake_backend()) == 0
    assert json.loads((run_dir / "run.json").read_text())["policy"]["options"] == {"seed": 5}


# -- evals.serve ------------------------------------------------------------------------------------------
def test_servable_policies_are_those_built_without_an_env():
    assert servable_names() == ("random", "zero", "dreamzero")
    policy = build_served(parse("random", options={"seed": "4"}), ActionSpec.default("joint_velocity"))
    assert isinstance(policy, RandomPolicy) and policy.seed == 4
    assert policy.metadata.action_space == "joint_velocity" and policy.metadata.config["seed"] == 4


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policy", "expert"], "error: policy 'expert' needs a simulator env, so it cannot be served"),
        (["--policy", "replay:/nonexistent/steps.parquet"], "error: policy 'replay' needs a simulator env"),
        (["--policy", "nope"], "error: unknown policy 'nope'"),
        (
            ["--policy", "zero", "--policy-opt", "seed=3"],
            "error: unknown option(s) ['seed'] for policy 'zero'",
        ),
        (["--policy", "random", "--policy-opt", "seed"], "error: --policy-opt expects KEY=VALUE"),
        (["--policy", "zero", "--checkpoint", "w"], "error: --checkpoint is only used by --policy dreamzero"),
        (
            ["--policy", "dreamzero", "--policy-opt", "random_weights=true", "--policy-opt", "dtype=float16"],
            "error: policy 'dreamzero': dtype must be one of float32, bfloat16, got 'float16'",
        ),
        (
            ["--policy", "dreamzero", "--policy-opt", "random_weights=true", "--policy-opt", "mesh=model:8"],
            "error: policy 'dreamzero': mesh 'model:8' needs 8 devices; this host has 1",
        ),
        (
            ["--policy", "dreamzero", "--policy-opt", "random_weights=true", "--policy-opt", "mesh=tensor:2"],
            "error: policy 'dreamzero': mesh 'tensor:2': write axis:size pairs",
        ),
        (
            [
                "--policy",
                "dreamzero",
                "--policy-opt",
                "random_weights=true",
                "--policy-opt",
                "noise_scale=-1",
            ],
            "error: policy 'dreamzero': noise_scale must be >= 0, got -1.0",
        ),
        (["--policy", "random", "--distributed"], "error: --distributed serves --policy dreamzero only"),
    ],
)
def test_serve_refuses_with_one_line_and_exit_2(capsys, argv, message):
    assert serve_main([*argv, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1


def test_serve_builds_dreamzero_from_its_policy_options(monkeypatch):
    import dreamzero_jax.inference as inference

    monkeypatch.setattr(inference, "DreamZeroPolicy", FakeDreamZero)
    FakeDreamZero.built.clear()
    FakeDreamZero.placed.clear()
    FakeDreamZero.overridden.clear()
    options = {
        "config": "small",
        "seed": "9",
        "random_weights": "true",
        "dtype": "bfloat16",
        "mesh": "model:1",
        "noise_scale": "0.5",
    }
    choice = parse("dreamzero", options=options)
    policy = build_served(choice, ActionSpec.default("joint_position"))
    assert FakeDreamZero.built == [("small", None, 9)]
    assert FakeDreamZero.placed == [("bfloat16", "model:1")]
    assert FakeDreamZero.overridden == [{"noise_scale": 0.5}]
    build_served(parse("dreamzero", options={"random_weights": "true"}), ActionSpec.default("joint_position"))
    assert FakeDreamZero.overridden[-1] == {}  # no option: the checkpoint's own sampling temperature
    policy.reset("open the drawer")
    assert policy.model.resets == [("open the drawer", 9)]  # sessions reset with the model seed
    assert policy.metadata.chunk_length == 24 and policy.metadata.cameras == ("wrist_image_left",)
    with pytest.raises(PolicySpecError, match="acts in joint_position, not --action-space joint_velocity"):
        build_served(choice, ActionSpec.default("joint_velocity"))

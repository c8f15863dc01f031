"""Built-in policies and the PolicyFactory: spec parsing, expert/random/zero/replay/dreamzero behaviour."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import types

import numpy as np
import pandas as pd
import pytest

from evals.contract.adapter import ChunkedPolicyWrapper
from evals.policies import PolicyFactory, PolicySpecError
from evals.policies import dreamzero as dz
from evals.policies.baselines import ActionSpec, RandomPolicy, ZeroPolicy
from evals.policies.registry import ExpertBuilder
from evals.policies.replay import ReplayError
from tests.evals.policy_fakes import PANDA_HIGH, PANDA_LOW, FakeDreamZero, FakeEnv, FakeExpert

KEY = {"case_id": "cube_0", "seed": 3}


def wrapped(policy, env, horizon=8):
    w = ChunkedPolicyWrapper(
        policy, open_loop_horizon=horizon, action_low=env.action_space.low, action_high=env.action_space.high
    )
    w.reset("put the cube in the bowl")
    return w


# -- spec parsing ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        ("nope", {}, r"unknown policy 'nope'; valid forms: expert, random, zero, replay:<steps.parquet>"),
        ("replay", {}, r"needs an argument: replay:<steps.parquet>"),
        ("expert:fast", {}, r"takes no argument"),
        ("zero", {"checkpoint": "w.safetensors"}, r"--checkpoint is only used by --policy dreamzero"),
        ("zero", {"options": {"temperature": 1}}, r"unknown option\(s\) \['temperature'\].*allowed: none"),
        ("random", {"options": {"seed": "x"}}, r"option seed='x' for policy 'random'"),
        ("remote:localhost", {}, r"expected remote:<host>:<port>"),
        ("remote:localhost:99999", {}, r"expected remote:<host>:<port>"),
        ("remote:127.0.0.1:1", {"options": {"connect_timeout": "soon"}}, r"connect_timeout='soon'"),
        ("remote:127.0.0.1:1", {"options": {"protocol": "grpc"}}, r"protocol must be one of"),
        ("replay:/nonexistent/steps.parquet", {}, r"does not exist"),
        ("dreamzero", {"checkpoint": "/nonexistent/ckpt"}, r"--checkpoint /nonexistent/ckpt does not exist"),
    ],
)
def test_bad_specs_raise_a_clear_spec_error(spec, kwargs, message):
    with pytest.raises(PolicySpecError, match=message):
        PolicyFactory.from_spec(spec, **kwargs)


def test_unreachable_remote_is_a_spec_error_after_the_bounded_timeout():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(PolicySpecError, match=rf"cannot reach the policy server at ws://127.0.0.1:{port}"):
        PolicyFactory.from_spec(f"remote:127.0.0.1:{port}", options={"connect_timeout": 0.3})


def test_describe_is_json_and_names_the_policy():
    factory = PolicyFactory.from_spec("random")
    described = json.loads(json.dumps(factory.describe()))
    assert described == {
        "name": "random",
        "spec": "random",
        "checkpoint": None,
        "options": {},
        "metadata": {
            "name": "random",
            "action_space": None,
            "action_dim": None,
            "cameras": [],
            "image_size": None,
            "chunk_length": 1,
            "config": {},
        },
    }


# -- expert ---------------------------------------------------------------------------------------------
def test_expert_is_requeried_every_step_and_built_fresh_per_episode():
    env = FakeEnv()
    builder = ExpertBuilder(make_agent=FakeExpert)
    policy = builder.for_episode(env, 0, KEY)
    assert policy.metadata.chunk_length == 1 and policy.metadata.cameras == ()
    assert policy.metadata.action_dim == 8 and policy.metadata.action_space == "joint_position"
    w = wrapped(policy, env)
    steps = [w.act(env.observation()) for _ in range(3)]
    assert all(info.policy_called for _, info in steps)
    np.testing.assert_allclose([a[0] for a, _ in steps], [0.01, 0.02, 0.03])
    assert builder.for_episode(env, 0, KEY).agent is not policy.agent


# -- random ---------------------------------------------------------------------------------------------
def test_random_is_seeded_by_the_episode_seed_and_repeats_after_reset():
    env = FakeEnv()
    factory = PolicyFactory.from_spec("random")
    a = factory.for_episode(env, seed=5, episode_key=KEY)
    b = factory.for_episode(env, seed=5, episode_key=KEY)
    c = factory.for_episode(env, seed=6, episode_key=KEY)
    obs = env.observation()
    seq_a = [a.infer(obs)["actions"] for _ in range(4)]
    seq_b = [b.infer(obs)["actions"] for _ in range(4)]
    np.testing.assert_array_equal(seq_a, seq_b)
    assert not np.allclose(seq_a[0], c.infer(obs)["actions"])
    a.reset("again")
    np.testing.assert_array_equal(a.infer(obs)["actions"], seq_a[0])


def test_random_joint_targets_stay_within_joint_limits_not_the_wider_box():
    policy = RandomPolicy(ActionSpec.from_env(FakeEnv("joint_position")), seed=0)
    actions = np.concatenate([policy.infer({})["actions"] for _ in range(500)])
    assert actions.shape == (500, 8) and actions.dtype == np.float32
    assert (actions[:, :7] >= PANDA_LOW).all() and (actions[:, :7] <= PANDA_HIGH).all()
    # It explores the whole range: both ends of joint 0 and both gripper states are reached.
    assert actions[:, 0].min() < -2.5 and actions[:, 0].max() > 2.5
    assert (actions[:, 7] < 0.5).any() and (actions[:, 7] >= 0.5).any()


def test_random_velocities_fill_the_action_box():
    env = FakeEnv("cartesian_velocity")
    policy = RandomPolicy(ActionSpec.from_env(env), seed=0)
    actions = np.concatenate([policy.infer({})["actions"] for _ in range(300)])
    assert actions.shape == (300, 7)
    assert actions.min() >= -1 and actions.max() <= 1 and actions[:, :6].min() < -0.9


# -- zero -----------------------------------------------------------------------------------------------
def test_zero_holds_joints_and_gripper_in_joint_position_space():
    env = FakeEnv("joint_position")
    obs = env.observation(seed=1)
    policy = PolicyFactory.from_spec("zero").for_episode(env, seed=0, episode_key=KEY)
    action, _ = wrapped(policy, env).act(obs)
    np.testing.assert_allclose(action[:7], obs["joint_position"])
    assert action[7] == 1.0  # gripper 0.8 held closed (binarised)


def test_zero_sends_zero_velocities():
    env = FakeEnv("joint_velocity")
    actions = ZeroPolicy(ActionSpec.from_env(env)).infer(env.observation())["actions"]
    np.testing.assert_allclose(actions, [[0, 0, 0, 0, 0, 0, 0, 0.8]])


# -- replay ---------------------------------------------------------------------------------------------
def _recorded(rng):
    rows = []
    for case_id, seed, n in (("cube_0", 3, 5), ("cube_0", 4, 2), ("can_1", 3, 3)):
        for step in reversed(range(n)):  # out of order on disk: replay must sort by step
            rows.append(
                {"case_id": case_id, "seed": seed, "step": step, "action": rng.normal(size=8).tolist()}
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("layout", ["list_column", "wide_columns"])
def test_replay_resends_the_recorded_actions_of_the_matching_episode(tmp_path, layout):
    frame = _recorded(np.random.default_rng(0))
    if layout == "wide_columns":
        wide = pd.DataFrame(frame.pop("action").tolist(), columns=[f"action_{i}" for i in range(8)])
        frame = pd.concat([frame, wide], axis=1)
    path = tmp_path / "steps.parquet"
    frame.to_parquet(path)
    factory = PolicyFactory.from_spec(f"replay:{path}")
    assert factory.describe()["metadata"]["config"]["episodes"] == 3
    policy = factory.for_episode(FakeEnv(), seed=3, episode_key=KEY)
    got = np.concatenate([policy.infer({})["actions"] for _ in range(5)])
    expected = (
        _recorded(np.random.default_rng(0)).query("case_id == 'cube_0' and seed == 3").sort_values("step")
    )
    np.testing.assert_allclose(got, np.stack(expected["action"].tolist()), rtol=1e-6)
    with pytest.raises(ReplayError, match="ran out after 5"):
        policy.infer({})
    policy.reset("again")
    np.testing.assert_allclose(policy.infer({})["actions"][0], got[0])


def test_replay_of_a_missing_episode_is_a_clear_error(tmp_path):
    path = tmp_path / "steps.parquet"
    _recorded(np.random.default_rng(0)).to_parquet(path)
    factory = PolicyFactory.from_spec(f"replay:{path}")
    with pytest.raises(ReplayError, match="no episode case_id='cube_0' seed=99"):
        factory.for_episode(FakeEnv(), seed=99, episode_key={"case_id": "cube_0", "seed": 99})


def test_replay_rejects_a_file_without_the_needed_columns(tmp_path):
    path = tmp_path / "episodes.parquet"
    pd.DataFrame({"case_id": ["a"], "success": [True]}).to_parquet(path)
    with pytest.raises(PolicySpecError, match=r"lacks columns \['seed', 'step', 'action'\]"):
        PolicyFactory.from_spec(f"replay:{path}")


# -- dreamzero ------------------------------------------------------------------------------------------
def test_dreamzero_unavailable_is_a_spec_error(monkeypatch):
    monkeypatch.setattr(dz, "INFERENCE_MODULE", "dreamzero_jax.no_such_module")
    with pytest.raises(PolicySpecError, match=r"needs dreamzero_jax.no_such_module.DreamZeroPolicy"):
        PolicyFactory.from_spec("dreamzero")


def test_dreamzero_builds_once_warns_about_random_weights_and_reseeds_per_episode(monkeypatch, capsys):
    module = types.ModuleType("fake_inference")
    module.DreamZeroPolicy = FakeDreamZero
    monkeypatch.setitem(sys.modules, "fake_inference", module)
    monkeypatch.setattr(dz, "INFERENCE_MODULE", "fake_inference")
    FakeDreamZero.built.clear()
    factory = PolicyFactory.from_spec("dreamzero", options={"seed": "7"})
    assert factory.describe()["metadata"] is None  # not built until an episode needs it
    first = factory.for_episode(FakeEnv(), seed=11, episode_key=KEY)
    second = factory.for_episode(FakeEnv(), seed=12, episode_key=KEY)
    first.reset("a")
    second.reset("b")
    assert FakeDreamZero.built == [("tiny", None, 7)]
    assert first.model is second.model and first.model.resets == [("a", 11), ("b", 12)]
    assert "RANDOM weights" in capsys.readouterr().err
    assert factory.describe()["metadata"]["chunk_length"] == 24


def test_importing_evals_policies_does_not_import_jax_or_the_simulator():
    code = (
        "import sys, evals.policies, evals.contract, evals.policies.remote, evals.serve.server\n"
        "evals.policies.PolicyFactory.from_spec('zero')\n"
        "heavy = [m for m in ('jax', 'flax', 'mujoco', 'robosuite', 'envs') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"

"""`evals.run --dataset` on the fake env, and the expert's `action_noise` option (noisy execution, clean labels)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dreamzero_jax.data import load_dataset
from evals.dataset.options import DatasetOptions
from evals.policies import PolicyFactory, PolicySpecError, expert
from evals.policies.registry import ExpertBuilder
from evals.run import main
from evals.runner.env_cache import EnvCache
from evals.runner.episode import run_episode
from evals.runner.spec import EpisodeSpec
from tests.evals.policy_fakes import FakeEnv, FakeExpert
from tests.evals.runner_helpers import fake_env, run_main, write_suite


def test_run_records_the_successful_episodes_deterministically(tmp_path, capsys):
    suite = write_suite(tmp_path)
    for workers in (1, 2):
        args = ["--suite", suite, "--output", tmp_path / f"run{workers}", "--workers", workers, "--quiet"]
        assert (
            run_main([*args, "--dataset", tmp_path / f"ds{workers}", "--dataset-size", 12, 16]) == 1
        )  # crash case
    episodes = pd.read_parquet(tmp_path / "run1" / "episodes.parquet")
    ok = episodes[episodes["success"]]
    ds = load_dataset(tmp_path / "ds1")
    assert [len(e) for e in ds.episodes] == list(ok["steps"])
    assert [e.embodiment for e in ds.episodes] == list(ok["embodiment"])
    assert ds.episodes[0].frames["observation.images.wrist_image_left"].shape == (
        ok["steps"].iloc[0],
        12,
        16,
        3,
    )
    steps = pd.read_parquet(tmp_path / "run1" / "steps.parquet")
    first = steps[(steps["case_id"] == ok["case_id"].iloc[0]) & (steps["seed"] == ok["seed"].iloc[0])]
    np.testing.assert_array_equal(ds.episodes[0].state[:, :7], np.stack(first["joint_position"]))
    np.testing.assert_array_equal(
        ds.episodes[0].action, np.stack(first["action"])
    )  # no noise: label == action
    two = load_dataset(tmp_path / "ds2")  # episodes arrive out of order with 2 workers; written in order
    for a, b in zip(ds.episodes, two.episodes, strict=True):
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(a.frames["observation.images.exterior_image_1_left"],
                                      b.frames["observation.images.exterior_image_1_left"])  # fmt: skip


def test_dataset_all_keeps_failures(tmp_path):
    suite = write_suite(tmp_path)
    args = ["--suite", suite, "--output", tmp_path / "run", "--quiet", "--cases", "crash", "--dataset-all"]
    assert run_main([*args, "--dataset", tmp_path / "ds"]) == 1
    assert len(load_dataset(tmp_path / "ds").episodes) == 1  # the crashed episode's 3 steps


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--dataset", "{full}"], "exists and is not an empty directory"),
        (["--dataset-all"], "need --dataset DIR"),
        (["--dataset", "{new}", "--dataset-size", "0", "5"], "H and W must be >= 1"),
    ],
)
def test_dataset_mistakes_are_one_line_exit_2(tmp_path, capsys, extra, message):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    extra = [a.format(full=tmp_path / "full", new=tmp_path / "new") for a in extra]
    assert run_main(["--suite", write_suite(tmp_path), "--output", tmp_path / "run", *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists() and not (tmp_path / "new").exists()


def test_dataset_with_resume_is_refused(tmp_path, capsys):
    suite = write_suite(tmp_path)
    assert (
        run_main(["--suite", suite, "--output", tmp_path / "run", "--quiet", "--cases", "reach_panda"]) == 0
    )
    assert run_main(["--resume", tmp_path / "run", "--dataset", tmp_path / "ds"]) == 2
    assert "fresh run" in capsys.readouterr().err


# -- action_noise ------------------------------------------------------------------------------------------
def noisy_outputs(seed: int, noise: float = 0.05, steps: int = 4) -> list[dict]:
    env = FakeEnv()
    factory = PolicyFactory(
        "expert", "expert", ExpertBuilder(make_agent=FakeExpert, action_noise=noise), None, {}
    )
    policy = factory.for_episode(env, seed=seed, episode_key={"case_id": "c", "seed": seed})
    policy.reset("lift")
    return [policy.infer(env.observation()) for _ in range(steps)]


def test_expert_noise_perturbs_executed_joints_only_and_labels_stay_clean():
    out = noisy_outputs(seed=3)
    clean = np.array([[(i + 1) / 100, *[0.0] * 7] for i in range(4)], np.float32)  # FakeExpert's actions
    np.testing.assert_array_equal(np.concatenate([o["labels"] for o in out]), clean)
    actions = np.concatenate([o["actions"] for o in out])
    assert np.all(actions[:, :7] != clean[:, :7]) and np.all(
        actions[:, 7] == clean[:, 7]
    )  # gripper untouched
    assert 0.01 < np.std(actions[:, :7] - clean[:, :7]) < 0.1
    again = np.concatenate([o["actions"] for o in noisy_outputs(seed=3)])
    other = np.concatenate([o["actions"] for o in noisy_outputs(seed=4)])
    np.testing.assert_array_equal(actions, again)  # seeded by the episode seed
    assert not np.array_equal(actions, other)


def test_expert_noise_option_is_typed_and_checked():
    assert PolicyFactory.from_spec("expert", options={"action_noise": "0.02"})._builder.action_noise == 0.02
    with pytest.raises(PolicySpecError, match="action_noise must be >= 0"):
        PolicyFactory.from_spec("expert", options={"action_noise": -1})
    assert "labels" not in noisy_outputs(seed=0, noise=0.0)[0]


class NoisyFakeFactory:
    """The fake env's goal-reaching policy, with noise on the executed joints and the clean target as label."""

    def for_episode(self, env, *, seed, episode_key):
        inner = fake_env.FakePolicy(env, "expert", seed)
        rng = np.random.default_rng(seed)

        class Noisy:
            metadata = inner.metadata

            def reset(self, instruction):
                inner.reset(instruction)

            def infer(self, obs):
                clean = inner.infer(obs)["actions"]
                noisy = clean.copy()
                noisy[:, :7] += rng.normal(0, 0.3, noisy[:, :7].shape).astype(np.float32)
                return {"actions": noisy, "labels": clean}

        return Noisy()


def test_episode_records_labels_not_the_executed_noisy_actions():
    spec = EpisodeSpec("s", "1", 0, "reach", "FakeReach", "panda", "reach the goal", 0, 6, 4, "joint_position",
                       (), (8, 8), 15, True)  # fmt: skip
    cache = EnvCache(fake_env.fake_backend())
    options = DatasetOptions(root="unused", size=(4, 4))
    result = run_episode(spec, NoisyFakeFactory(), record_video=False, env_cache=cache, dataset=options)
    executed = np.stack(result.steps["action"])
    recorded = result.dataset.action
    assert recorded.shape == executed.shape == (6, 8)
    env = fake_env.FakeReachEnv("FakeReach")
    env.reset(seed=spec.env_seed)
    goal = np.append(env.goal, 1.0).astype(np.float32)
    np.testing.assert_allclose(recorded, np.tile(goal, (6, 1)), atol=1e-6)  # the clean targets
    assert np.all(np.abs(executed[:, :7] - recorded[:, :7]) > 0)
    np.testing.assert_array_equal(result.dataset.state[:, :7], np.stack(result.steps["joint_position"]))


class GoalAgent:
    """A scripted agent for the fake reach env (the registry's expert drives it): goal joints, gripper closed."""

    def __init__(self, env):
        self.env = env.unwrapped

    def reset(self):
        pass

    def act(self, obs):
        return np.append(self.env.sim_state()["goal"], 1.0)


def test_cli_expert_action_noise_option_reaches_the_expert_and_the_dataset_keeps_clean_labels(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(expert, "default_make_expert", GoalAgent)  # the real registry entry, a fake agent
    base = ["--suite", write_suite(tmp_path), "--cases", "reach_panda", "--policy", "expert", "--quiet"]
    record = ["--video", "none", "--output", tmp_path / "run", "--dataset", tmp_path / "ds", "--dataset-all"]
    noisy = [str(a) for a in [*base, *record, "--policy-opt", "action_noise=0.02"]]
    assert main(noisy, backend=fake_env.fake_backend()) == 0
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["policy_options"] == {"action_noise": "0.02"}
    assert info["policy"]["options"] == {"action_noise": 0.02}
    steps = pd.read_parquet(tmp_path / "run" / "steps.parquet")
    ds = load_dataset(tmp_path / "ds")
    assert len(ds.episodes) == 2  # seeds 0 and 1, in suite order
    for episode, (_, group) in zip(ds.episodes, steps.groupby("seed", sort=True), strict=True):
        executed = np.stack(group.sort_values("step")["action"])
        labels = episode.action
        assert labels.shape == executed.shape
        np.testing.assert_array_equal(labels, np.tile(labels[0], (len(labels), 1)))  # the clean goal target
        assert np.all(labels[:, 7] == 1.0) and np.all(executed[:, 7] == labels[:, 7])  # gripper not perturbed
        noise = executed[:, :7] - labels[:, :7]
        assert np.all(noise != 0) and 0.005 < noise.std() < 0.05
    bad = [str(a) for a in [*base, "--output", tmp_path / "bad", "--policy-opt", "action_noise=-1"]]
    capsys.readouterr()
    assert main(bad, backend=fake_env.fake_backend()) == 2
    err = capsys.readouterr().err.strip()
    assert "action_noise must be >= 0" in err and len(err.splitlines()) == 1

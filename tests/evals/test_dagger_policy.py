"""``--policy dagger``: the learner's chunks drive the episode at its open-loop horizon, and every step is
labelled with the expert's action for that step's observation."""

from __future__ import annotations

import numpy as np
import pytest

from evals.contract.policy import PolicyMetadata
from evals.policies import PolicyFactory, PolicySpecError
from evals.policies.dagger import DaggerPolicy
from tests.evals.policy_fakes import FakeDreamZero, FakeEnv, FakeExpert

KEY = {"case_id": "c", "seed": 0}


class ChunkLearner:
    """Chunks of 8 rows whose joint 1 is ``(10 * call + row) / 10``; records the step of every observation it reads."""

    metadata = PolicyMetadata(
        "learner", "joint_position", 8, cameras=("wrist_image_left",), image_size=(8, 12), chunk_length=8
    )

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.resets: list[str] = []

    def reset(self, instruction: str) -> None:
        self.resets.append(instruction)

    def infer(self, obs: dict) -> dict:
        self.calls.append(int(obs["step"]))
        chunk = np.zeros((8, 8), np.float32)
        chunk[:, 1] = (10 * (len(self.calls) - 1) + np.arange(8)) / 10
        chunk[:, 7] = 0.7  # the gripper: binarised like any executed action
        return {"actions": chunk}


class StepExpert:
    """Labels step t with joint 0 = t (from the observation it is shown), gripper closed."""

    metadata = PolicyMetadata("expert", "joint_position", 8, chunk_length=1)

    def __init__(self) -> None:
        self.resets = 0

    def reset(self, instruction: str) -> None:
        self.resets += 1

    def infer(self, obs: dict) -> dict:
        label = np.zeros((1, 8), np.float32)
        label[0, 0], label[0, 7] = obs["step"], 1.0
        return {"actions": label}


def test_learner_drives_at_its_horizon_and_the_expert_labels_every_step():
    env = FakeEnv()
    learner, expert = ChunkLearner(), StepExpert()
    policy = DaggerPolicy(
        learner,
        expert,
        open_loop_horizon=3,
        action_low=env.action_space.low,
        action_high=env.action_space.high,
    )
    policy.reset("lift the cube")
    outs = [policy.infer({**env.observation(), "step": t, "prompt": "lift the cube"}) for t in range(7)]
    assert learner.calls == [0, 3, 6]  # re-planned every 3 steps, from the observation of that step
    executed = np.concatenate([o["actions"] for o in outs])
    np.testing.assert_allclose(executed[:, 1] * 10, [0, 1, 2, 10, 11, 12, 20], rtol=1e-6)
    np.testing.assert_array_equal(executed[:, 7], 1.0)  # 0.7 >= 0.5 closes
    labels = np.concatenate([o["labels"] for o in outs])
    np.testing.assert_array_equal(labels[:, 0], np.arange(7))  # one label per step, for that step
    np.testing.assert_array_equal(labels[:, 1], 0.0)  # never the learner's action
    assert learner.resets == ["lift the cube"] and expert.resets == 1
    meta = policy.metadata
    assert (meta.chunk_length, meta.cameras, meta.image_size) == (1, ("wrist_image_left",), (8, 12))


def test_dagger_builds_the_dreamzero_learner_and_the_task_expert(monkeypatch, tmp_path):
    import dreamzero_jax.inference as inference

    monkeypatch.setattr(inference, "DreamZeroPolicy", FakeDreamZero)
    FakeDreamZero.built.clear()
    factory = PolicyFactory.from_spec(
        "dagger", checkpoint=str(tmp_path), options={"horizon": "4", "seed": "5"}
    )
    factory._builder.make_agent = FakeExpert
    policy = factory.for_episode(FakeEnv(), seed=9, episode_key=KEY)
    assert FakeDreamZero.built == [(None, str(tmp_path), 5)]
    assert policy.learner.open_loop_horizon == 4 and policy.metadata.cameras == ("wrist_image_left",)
    policy.reset("lift")
    out = [policy.infer(FakeEnv().observation()) for _ in range(2)]
    np.testing.assert_allclose([o["labels"][0, 0] for o in out], [0.01, 0.02])  # FakeExpert counts steps


def test_dagger_options_are_checked():
    with pytest.raises(PolicySpecError, match="horizon must be >= 1"):
        PolicyFactory.from_spec("dagger", checkpoint=".", options={"horizon": "0"})
    with pytest.raises(PolicySpecError, match="unknown option"):
        PolicyFactory.from_spec("dagger", checkpoint=".", options={"action_noise": "0.1"})

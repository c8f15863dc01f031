"""The chunk adapter: open-loop horizon, re-query rules, clipping, gripper binarisation and the output guard."""

from __future__ import annotations

import numpy as np
import pytest

from evals.contract import PolicyMetadata
from evals.contract.adapter import ChunkedPolicyWrapper, PolicyOutputError, StepInfo

LOW = np.array([-1.0] * 7 + [0.0], np.float32)
HIGH = np.array([1.0] * 7 + [1.0], np.float32)


class ScriptedPolicy:
    """Returns the given chunks in order and records every call."""

    metadata = PolicyMetadata(name="scripted", action_dim=8)

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.calls: list[dict] = []
        self.resets: list[str] = []

    def reset(self, instruction: str) -> None:
        self.resets.append(instruction)

    def infer(self, obs: dict) -> dict:
        self.calls.append(obs)
        out = self.chunks[min(len(self.calls) - 1, len(self.chunks) - 1)]
        return out if isinstance(out, dict) else {"actions": out}


def ramp(n: int, start: float = 0.0) -> np.ndarray:
    """Chunk whose joint 0 encodes the action's global index (start + i) / 100, gripper open."""
    chunk = np.zeros((n, 8), np.float32)
    chunk[:, 0] = (start + np.arange(n)) / 100
    return chunk


def wrap(policy, horizon=8, **kw):
    w = ChunkedPolicyWrapper(policy, open_loop_horizon=horizon, action_low=LOW, action_high=HIGH, **kw)
    w.reset("put the cube in the bowl")
    return w


def test_open_loop_horizon_executes_first_actions_then_requeries():
    policy = ScriptedPolicy([ramp(24, 0), ramp(24, 100)])
    w = wrap(policy, horizon=8)
    actions, infos = zip(*(w.act({"joint_position": np.zeros(7)}) for _ in range(10)), strict=True)
    assert len(policy.calls) == 2
    # Steps 0-7 are actions 0-7 of chunk 0; step 8 is action 0 of chunk 1, not action 8 of chunk 0.
    np.testing.assert_allclose([a[0] for a in actions], [*(np.arange(8) / 100), 1.0, 1.0])
    assert [i.chunk_index for i in infos] == [0] * 8 + [1, 1]
    assert [i.pos_in_chunk for i in infos] == [*range(8), 0, 1]
    assert [i.policy_called for i in infos] == [True] + [False] * 7 + [True, False]
    assert infos[0].latency_ms is not None and infos[0].latency_ms >= 0 and infos[1].latency_ms is None


def test_chunk_shorter_than_horizon_requeries_when_used_up():
    policy = ScriptedPolicy([ramp(3)])
    w = wrap(policy, horizon=8)
    infos = [w.act({})[1] for _ in range(7)]
    assert len(policy.calls) == 3
    assert [i.pos_in_chunk for i in infos] == [0, 1, 2, 0, 1, 2, 0]


def test_single_action_is_a_chunk_of_one():
    policy = ScriptedPolicy([np.full(8, 0.25, np.float32)])
    w = wrap(policy, horizon=8)
    action, info = w.act({})
    _, info2 = w.act({})
    assert action.shape == (8,) and action.dtype == np.float32
    assert info.policy_called and info2.policy_called and len(policy.calls) == 2


def test_prompt_is_added_from_the_instruction_and_reset_restarts_the_chunk():
    policy = ScriptedPolicy([ramp(24)])
    w = wrap(policy, horizon=8)
    w.act({"joint_position": np.zeros(7)})
    w.act({})
    assert policy.calls[0]["prompt"] == "put the cube in the bowl"
    w.reset("other task")
    _, info = w.act({})
    assert info.policy_called and info.chunk_index == 0 and info.pos_in_chunk == 0
    assert policy.resets == ["put the cube in the bowl", "other task"]
    assert policy.calls[-1]["prompt"] == "other task"


def test_clipping_to_the_action_space():
    chunk = np.array([[-3.0, 3.0, 0.5, -0.5, 1.5, -1.5, 0.0, 0.7]], np.float32)
    action, _ = wrap(ScriptedPolicy([chunk])).act({})
    np.testing.assert_allclose(action, [-1, 1, 0.5, -0.5, 1, -1, 0, 1])


@pytest.mark.parametrize(
    ("value", "expected"), [(0.49, 0.0), (0.5, 1.0), (0.51, 1.0), (-2.0, 0.0), (7.0, 1.0)]
)
def test_gripper_binarisation_threshold(value, expected):
    chunk = np.zeros((1, 8), np.float32)
    chunk[0, -1] = value
    action, _ = wrap(ScriptedPolicy([chunk])).act({})
    assert action[-1] == expected


def test_binarisation_can_be_turned_off():
    chunk = np.zeros((1, 8), np.float32)
    chunk[0, -1] = 0.3
    action, _ = wrap(ScriptedPolicy([chunk]), binarize_gripper=False).act({})
    assert action[-1] == pytest.approx(0.3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_raises_naming_chunk_index_and_value(bad):
    first, second = ramp(4), ramp(4)
    second[2, 5] = bad
    w = wrap(ScriptedPolicy([first, second]), horizon=4)
    for _ in range(4):
        w.act({})
    with pytest.raises(PolicyOutputError, match=r"chunk 1: non-finite action value .* index 2, dim 5"):
        w.act({})


def test_non_finite_value_beyond_the_horizon_is_never_sent_so_allowed():
    chunk = ramp(16)
    chunk[12, 0] = np.nan
    w = wrap(ScriptedPolicy([chunk]), horizon=8)
    for _ in range(8):
        assert np.isfinite(w.act({})[0]).all()


@pytest.mark.parametrize(
    "actions", [np.zeros((4, 7), np.float32), np.zeros(9, np.float32), np.zeros((2, 4, 8)), np.zeros((0, 8))]
)
def test_wrong_shape_raises(actions):
    with pytest.raises(PolicyOutputError, match="shape"):
        wrap(ScriptedPolicy([actions])).act({})


def test_missing_actions_key_raises():
    with pytest.raises(PolicyOutputError, match="'actions'"):
        wrap(ScriptedPolicy([{"action": np.zeros((1, 8))}])).act({})


def test_policy_timing_is_reported_when_called():
    policy = ScriptedPolicy([{"actions": ramp(2), "timing": {"dit": 12.5, "vae": 3}}])
    w = wrap(policy, horizon=8)
    _, first = w.act({})
    _, second = w.act({})
    assert first.timing == {"dit": 12.5, "vae": 3.0}
    assert second.timing is None
    assert isinstance(first, StepInfo)


def test_invalid_configuration_is_rejected():
    with pytest.raises(ValueError, match="open_loop_horizon"):
        ChunkedPolicyWrapper(ScriptedPolicy([]), open_loop_horizon=0, action_low=LOW, action_high=HIGH)
    with pytest.raises(ValueError, match="bounds"):
        ChunkedPolicyWrapper(ScriptedPolicy([]), open_loop_horizon=1, action_low=HIGH, action_high=LOW)

"""DreamZeroPolicy serving several sessions per call: each equals itself alone; joins/leaves; slot limits."""

from __future__ import annotations

import numpy as np
import pytest

from dreamzero_jax.inference import DreamZeroPolicy
from dreamzero_jax.inference.episode import SessionLimitError, SessionRequest
from dreamzero_jax.inference.frames import DROID_CAMERAS

PROMPTS = {"a": "pick up the cube", "b": "open the drawer", "c": "stack the blocks", "d": "pick up the cube"}
SEEDS = {"a": 1, "b": 2, "c": 3, "d": 4}


def observation(session: str, i: int) -> dict:
    rng = np.random.default_rng([ord(session), i])
    obs = {k: rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for k in DROID_CAMERAS}
    return obs | {"joint_position": rng.normal(0, 0.5, 7), "gripper_position": rng.uniform(0, 1, 1)}


# calls of the batched run; after the call at index i, LEAVES[i] ends (d then takes its slot)
SCHEDULE = (["a"], ["a", "b"], ["b", "a", "c"], ["c", "b", "d"], ["d", "c"])
LEAVES = {2: "a"}


@pytest.fixture(scope="module")
def policy():
    return DreamZeroPolicy.from_config("tiny", seed=0, max_sessions=3)


def alone(policy, session: str, calls: int) -> list[dict]:
    policy.reset(PROMPTS[session], seed=SEEDS[session])
    return [policy.infer(observation(session, i)) for i in range(calls)]


def batched(policy) -> list[dict]:
    done, got = {s: 0 for s in PROMPTS}, []
    for i, names in enumerate(SCHEDULE):
        for s in names:
            if done[s] == 0 and s not in policy.sessions:
                policy.start_session(s, PROMPTS[s], SEEDS[s])
        outs = policy.infer_batch([SessionRequest(s, observation(s, done[s])) for s in names])
        got.append({s: (done[s], out) for s, out in zip(names, outs, strict=True)})
        for s in names:
            done[s] += 1
        if i in LEAVES:
            policy.end_session(LEAVES[i])
    return got


def test_sessions_in_one_call_equal_each_session_alone_and_compile_per_bucket(policy):
    calls = {s: sum(s in names for names in SCHEDULE) for s in PROMPTS}
    want = {s: alone(policy, s, n) for s, n in calls.items()}
    policy.end_session("\0episode")  # the one-episode API's session frees its slot too
    got = batched(policy)
    for i, call in enumerate(got):
        for s, (c, out) in call.items():
            ref = want[s][c]
            np.testing.assert_allclose(out["actions"], ref["actions"], atol=1e-5, rtol=0, err_msg=f"{i} {s}")
            np.testing.assert_allclose(out["video"], ref["video"], atol=1e-5, rtol=0, err_msg=f"{i} {s}")
            assert out["batch_size"] == len(call)
    # call 2 mixes a reset (a: full window, tiny resets at frame 5), a continuation (b) and a new session (c)
    assert [("image" in got[2][s][1]["timing"]) for s in "bac"] == [False, True, True]
    assert np.abs(got[1]["a"][1]["actions"] - got[1]["b"][1]["actions"]).max() > 1e-3  # sessions differ
    # a second wave of joins and leaves at the same bucket sizes compiles nothing new
    compiled = dict(policy.compiles)
    for s in list(policy.sessions):
        policy.end_session(s)
    batched(policy)
    assert dict(policy.compiles) == compiled


def test_slot_limit_and_request_errors(policy):
    for s in list(policy.sessions):
        policy.end_session(s)
    for s in "xyz":
        policy.start_session(s, "pick up the cube", 0)
    with pytest.raises(SessionLimitError, match="3"):
        policy.start_session("w", "pick up the cube", 0)
    policy.start_session("x", "open the drawer", 5)  # restarting a running session needs no new slot
    policy.end_session("y")
    policy.start_session("w", "pick up the cube", 0)
    assert policy.sessions["w"].slot == 1  # the freed slot
    with pytest.raises(ValueError, match="one request per session"):
        policy.infer_batch([SessionRequest("x", {}), SessionRequest("x", {})])
    with pytest.raises(KeyError, match="nobody"):
        policy.infer_batch([SessionRequest("nobody", {})])

"""Lockstep serving (``evals.serve --distributed``): host 0 broadcasts each call, followers repeat it.

Only one process exists here: the broadcast is tested on jax's single-process collective, and the
leader/follower protocol over an in-memory channel between two threads, each with its own policy.
A real multi-host slice was not available to test.
"""

from __future__ import annotations

import queue
import threading

import numpy as np

from evals.contract.policy import PolicyMetadata
from evals.contract.sessions import SessionRequest
from evals.serve import lockstep


class CountingSessions:
    """Actions depend on every call of a session so far (like a KV cache): copies that miss or reorder a call
    diverge."""

    max_sessions = 4

    def __init__(self) -> None:
        self.metadata = PolicyMetadata(name="counting", chunk_length=2)
        self.calls: list = []
        self.totals: dict[str, float] = {}

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        self.calls.append(("start", session, instruction, seed))
        self.totals[session] = float(len(instruction) + seed)

    def infer_batch(self, requests) -> list[dict]:
        out = []
        for r in requests:
            self.calls.append(("infer", r.session, r.obs["prompt"], r.obs["joint_position"].tolist()))
            total = 0.5 * self.totals[r.session] + float(r.obs["joint_position"].sum())
            self.totals[r.session] = total
            out.append({"actions": np.full((2, 8), total, np.float32)})
        return out

    def end_session(self, session: str) -> None:
        self.calls.append(("end", session))
        self.totals.pop(session, None)


def test_jax_broadcast_returns_the_leaders_bytes_in_one_process():
    payload = bytes(range(256)) * 3
    assert lockstep.jax_broadcast(payload) == payload


def test_follower_makes_every_call_of_the_leader_in_order():
    channel: queue.Queue[bytes] = queue.Queue()

    def leader_send(payload):
        channel.put(payload)
        return payload

    leader_policy, follower_policy = CountingSessions(), CountingSessions()
    result: dict = {}
    follower = threading.Thread(
        target=lambda: result.update(
            calls=lockstep.follow(follower_policy, lambda _: channel.get(timeout=30))
        )
    )
    follower.start()
    leader = lockstep.LockstepLeader(leader_policy, leader_send)
    outs = []
    prompts = {"a": "lift the cube", "b": "open the drawer"}
    for key, prompt in prompts.items():
        leader.start_session(key, prompt, seed=3)
    for step in range(3):
        requests = [
            SessionRequest(key, {"joint_position": np.arange(7.0) * (step + 1) + i, "prompt": prompt})
            for i, (key, prompt) in enumerate(prompts.items())
        ]
        outs += [r["actions"] for r in leader.infer_batch(requests)]
    leader.end_session("a")
    leader.stop()
    follower.join(timeout=30)
    assert not follower.is_alive() and result["calls"] == 6
    assert follower_policy.calls == leader_policy.calls and len(leader_policy.calls) == 9
    assert follower_policy.totals == leader_policy.totals == {"b": leader_policy.totals["b"]}
    assert len({float(a[0, 0]) for a in outs}) == 6  # the calls really differ
    assert leader.metadata.name == "counting"

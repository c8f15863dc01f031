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
from evals.serve import lockstep


class CountingPolicy:
    """Actions depend on every call so far (like a KV cache): copies that miss or reorder a call diverge."""

    def __init__(self) -> None:
        self.metadata = PolicyMetadata(name="counting", chunk_length=2)
        self.calls: list = []
        self.total = 0.0

    def reset(self, instruction: str) -> None:
        self.calls.append(("reset", instruction))
        self.total = float(len(instruction))

    def infer(self, obs: dict) -> dict:
        self.calls.append(("infer", obs["prompt"], obs["joint_position"].tolist()))
        self.total = 0.5 * self.total + float(obs["joint_position"].sum())
        return {"actions": np.full((2, 8), self.total, np.float32)}


def test_jax_broadcast_returns_the_leaders_bytes_in_one_process():
    payload = bytes(range(256)) * 3
    assert lockstep.jax_broadcast(payload) == payload


def test_follower_makes_every_call_of_the_leader_in_order():
    channel: queue.Queue[bytes] = queue.Queue()

    def leader_send(payload):
        channel.put(payload)
        return payload

    leader_policy, follower_policy = CountingPolicy(), CountingPolicy()
    result: dict = {}
    follower = threading.Thread(
        target=lambda: result.update(
            calls=lockstep.follow(follower_policy, lambda _: channel.get(timeout=30))
        )
    )
    follower.start()
    leader = lockstep.LockstepLeader(leader_policy, leader_send)
    outs = []
    for episode, prompt in enumerate(["lift the cube", "open the drawer"]):
        leader.reset(prompt)
        for step in range(3):
            obs = {"joint_position": np.arange(7.0) * (step + 1) + episode, "prompt": prompt}
            outs.append(leader.infer(obs)["actions"])
    leader.stop()
    follower.join(timeout=30)
    assert not follower.is_alive() and result["calls"] == 8
    assert follower_policy.calls == leader_policy.calls and len(leader_policy.calls) == 8
    assert follower_policy.total == leader_policy.total
    assert len({float(a[0, 0]) for a in outs}) == 6  # the calls really differ
    assert leader.metadata.name == "counting"

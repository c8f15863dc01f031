"""Multi-host serving: every host runs each model step in lockstep; host 0 alone talks to clients.

On a multi-host slice (``python -m evals.serve --distributed``) a sharded model's jitted step is one SPMD
program over every host's devices, so every process must call it with the same inputs in the same order.
Host 0 serves the websocket clients through :class:`LockstepLeader`, which wraps the session policy: before
each ``start_session`` / ``infer_batch`` / ``end_session`` it broadcasts the call (method + arguments) to every host, then runs it. The other
hosts run :func:`follow`: receive each call, make it on their own copy of the policy, until ``stop``.

The transport is a function ``broadcast(payload: bytes | None) -> bytes``: the leader passes its bytes,
followers pass ``None`` and get the leader's. :func:`jax_broadcast` implements it with
``jax.experimental.multihost_utils.broadcast_one_to_all`` (length first, then the padded bytes), so no
channel besides JAX's own is needed. Calls are msgpack frames of the wire format (numpy arrays included).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from evals.contract import wire
from evals.contract.sessions import SessionPolicy, SessionRequest

Broadcast = Callable[[bytes | None], bytes]
STOP = "stop"


def jax_broadcast(payload: bytes | None) -> bytes:
    """Bytes from process 0 to every process (a collective: every process must call it, in order)."""
    from jax.experimental import multihost_utils

    is_source = payload is not None
    size = multihost_utils.broadcast_one_to_all(
        np.int64(len(payload) if is_source else 0), is_source=is_source
    )
    buf = np.frombuffer(payload, np.uint8) if is_source else np.zeros(int(size), np.uint8)
    return np.asarray(multihost_utils.broadcast_one_to_all(buf, is_source=is_source)).tobytes()


def init_distributed() -> int:
    """``jax.distributed.initialize()`` (coordinator and process ids from the cluster's environment, e.g.
    a TPU slice or SLURM); returns this process's index (0 serves the clients)."""
    import jax

    jax.distributed.initialize()
    return jax.process_index()


def _frame(method: str, arg: Any) -> bytes:
    if method == "infer_batch":
        arg = [[r.session, wire.obs_to_wire(dict(r.obs))] for r in arg]
    return wire.packb({"method": method, "arg": arg})


def _call(policy: SessionPolicy, frame: dict[str, Any]) -> Any:
    method, arg = frame["method"], frame["arg"]
    if method == "start_session":
        return policy.start_session(str(arg[0]), str(arg[1]), int(arg[2]))
    if method == "end_session":
        return policy.end_session(str(arg))
    return policy.infer_batch([SessionRequest(str(k), wire.wire_to_obs(obs)) for k, obs in arg])


class LockstepLeader:
    """Host 0's policy: each call is broadcast to the followers, then made here (a :class:`SessionPolicy`)."""

    def __init__(self, policy: SessionPolicy, broadcast: Broadcast = jax_broadcast) -> None:
        self.policy, self.broadcast = policy, broadcast
        self.metadata = policy.metadata
        self.max_sessions = policy.max_sessions

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        self._run("start_session", [session, instruction, int(seed)])

    def infer_batch(self, requests: Sequence[SessionRequest]) -> list[dict[str, Any]]:
        return self._run("infer_batch", list(requests))

    def end_session(self, session: str) -> None:
        self._run("end_session", session)

    def _run(self, method: str, arg: Any) -> Any:
        frame = wire.unpackb(self.broadcast(_frame(method, arg)))  # the followers make the same call
        return _call(self.policy, frame)

    def stop(self) -> None:
        """Release the followers (their :func:`follow` returns)."""
        self.broadcast(_frame(STOP, None))


def follow(policy: SessionPolicy, broadcast: Broadcast = jax_broadcast) -> int:
    """Make every call host 0 broadcasts on this host's ``policy`` until it stops; returns the call count."""
    calls = 0
    while True:
        frame = wire.unpackb(broadcast(None))
        if frame["method"] == STOP:
            return calls
        _call(policy, frame)
        calls += 1

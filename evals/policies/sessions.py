"""Any per-episode policy as a :class:`~evals.contract.sessions.SessionPolicy` (one instance per session).

Policies whose state is cheap (expert, random, zero, replay, a remote client) get the multi-session contract by
keeping one independent instance per session and answering a batch one request at a time. A policy with a
native batched implementation (DreamZero: one jitted call for all sessions) provides its own instead.

Example:
    >>> import numpy as np
    >>> from evals.contract.policy import PolicyMetadata
    >>> class Count:
    ...     metadata = PolicyMetadata(name="count", action_dim=1, chunk_length=1)
    ...     def __init__(self, seed: int) -> None: self.n = seed
    ...     def reset(self, instruction: str) -> None: ...
    ...     def infer(self, obs: dict) -> dict:
    ...         self.n += 1
    ...         return {"actions": np.full((1, 1), self.n, np.float32)}
    >>> pool = PerSessionPolicies(Count, Count.metadata, max_sessions=2)
    >>> pool.start_session("a", "lift", seed=10); pool.start_session("b", "lift", seed=20)
    >>> [float(r["actions"][0, 0]) for r in pool.infer_batch([SessionRequest("a", {}), SessionRequest("b", {})])]
    [11.0, 21.0]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from evals.contract.policy import Policy, PolicyMetadata
from evals.contract.sessions import SessionRequest

__all__ = ["PerSessionPolicies", "SessionLimitError", "SessionRequest", "native_session_policy"]


def native_session_policy(owner: Any, max_sessions: int) -> Any | None:
    """``owner``'s (a builder's or a policy factory's) native batched ``session_policy(max_sessions)``, or
    None when it has none (its policies are then kept one per session)."""
    make = getattr(owner, "session_policy", None)
    return None if make is None else make(max_sessions)


class SessionLimitError(RuntimeError):
    """More sessions were started than the policy holds (the caller should end or evict one first)."""


class PerSessionPolicies:
    """One ``Policy`` per session, built by ``make(seed)`` at ``start_session``."""

    def __init__(self, make: Callable[[int], Policy], metadata: PolicyMetadata, max_sessions: int) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        self.make = make
        self.metadata = metadata
        self.max_sessions = int(max_sessions)
        self.sessions: dict[str, Policy] = {}

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        """(Re)start ``session``: a fresh policy instance reset with ``instruction``."""
        if session not in self.sessions and len(self.sessions) >= self.max_sessions:
            raise SessionLimitError(f"all {self.max_sessions} session slots are in use")
        policy = self.make(int(seed))
        policy.reset(instruction)
        self.sessions[session] = policy

    def infer_batch(self, requests: Sequence[SessionRequest]) -> list[dict[str, Any]]:
        """Each request answered by its own session's policy, in request order."""
        missing = [r.session for r in requests if r.session not in self.sessions]
        if missing:
            raise KeyError(f"no started session for {missing}")
        return [self.sessions[r.session].infer(dict(r.obs)) for r in requests]

    def end_session(self, session: str) -> None:
        """Drop the session's policy (unknown keys are ignored)."""
        self.sessions.pop(session, None)

"""The batched runner's one view of the policy: a :class:`~evals.contract.sessions.SessionPolicy` for a worker.

`EpisodeSessions` chooses it once per worker: the policy factory's native batched policy when it has one
(``factory.session_policy(max_sessions)``, e.g. DreamZero: one model call for every due episode), else
:class:`~evals.policies.sessions.PerSessionPolicies` over the per-episode policies the runner builds anyway
(``factory.for_episode(env, ...)`` needs the episode's env, so a session's policy is the one built for it).

Example:
    >>> import numpy as np
    >>> from evals.contract.policy import PolicyMetadata
    >>> class Count:
    ...     metadata = PolicyMetadata(name="count", action_dim=1)
    ...     def __init__(self): self.n = 0
    ...     def reset(self, instruction): self.n = 0
    ...     def infer(self, obs): self.n += 1; return {"actions": np.full((1, 1), self.n, np.float32)}
    >>> class Factory:  # a per-episode factory (no session_policy)
    ...     def for_episode(self, env, *, seed, episode_key): return Count()
    >>> sessions = EpisodeSessions(Factory(), max_sessions=2)
    >>> sessions.start("a", "lift", 7, Count()); sessions.start("b", "lift", 8, Count())
    >>> answers = sessions.answer([SessionRequest("a", {}), SessionRequest("b", {})])
    >>> [float(answer["actions"][0, 0]) for answer, ms in answers]
    [1.0, 1.0]
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from evals.contract.policy import Policy
from evals.contract.sessions import SessionPolicy, SessionRequest
from evals.policies.sessions import PerSessionPolicies, native_session_policy

__all__ = ["EpisodeSessions", "SessionRequest", "SharedPolicyError"]


class SharedPolicyError(RuntimeError):
    """The factory hands every episode the same policy object (e.g. one remote connection): sessions would
    reset each other, so it cannot run episodes side by side."""


class EpisodeSessions:
    """Start, answer and end the sessions of the episodes one worker runs side by side.

    Args:
        factory: the worker's policy factory (``for_episode``; optionally ``session_policy``).
        max_sessions: the most episodes that run at once (``--batch``).
    """

    def __init__(self, factory: Any, max_sessions: int) -> None:
        self.max_sessions = int(max_sessions)
        self.native = native_session_policy(factory, self.max_sessions)
        self._pool: PerSessionPolicies | None = None
        self._built: dict[int, Policy] = {}  # seed -> the policy built for the episode starting now

    @property
    def policy(self) -> SessionPolicy | None:
        """The SessionPolicy in use (None until the first fallback session starts)."""
        return self.native if self.native is not None else self._pool

    def start(self, session: str, instruction: str, seed: int, built: Policy) -> None:
        """Start `session`. `built` is the per-episode policy the runner built for it (``for_episode``): the
        fallback's session policy; a native batched policy only needed its metadata."""
        if self.native is not None:
            self.native.start_session(session, instruction, seed)
            return
        if self._pool is None:
            self._pool = PerSessionPolicies(self._built.pop, built.metadata, self.max_sessions)
        if any(p is built for p in self._pool.sessions.values()):
            raise SharedPolicyError(
                f"policy {built.metadata.name!r} is one shared object for every episode; "
                "run it with --batch 1 (use --workers for parallel episodes)"
            )
        self._built[int(seed)] = built  # PerSessionPolicies.make(seed) takes it (and resets it)
        try:
            self._pool.start_session(session, instruction, seed)
        finally:
            self._built.pop(int(seed), None)

    def answer(self, requests: Sequence[SessionRequest]) -> list[tuple[dict[str, Any] | Exception, float]]:
        """Each request's answer (or the exception that stands for it) and the wall time in ms of the call
        that answered it.

        A native batched policy is asked once for all requests; if that call raises, every request in it
        gets the exception (the model is shared). Per-episode policies are independent objects answered one
        after another anyway, so each is asked alone and an exception belongs to its own episode only.
        """
        policy = self.policy
        if policy is None:
            return [(RuntimeError("no session was started"), 0.0) for _ in requests]
        calls = [list(requests)] if self.native is not None else [[r] for r in requests]
        answers: list[tuple[dict[str, Any] | Exception, float]] = []
        for call in calls:
            start = time.perf_counter()
            try:
                out = list(policy.infer_batch(call))
                if len(out) != len(call):
                    raise RuntimeError(f"infer_batch answered {len(out)} of {len(call)} requests")
            except Exception as exc:  # recorded on the episodes it answers for
                out = [exc] * len(call)
            ms = (time.perf_counter() - start) * 1e3
            answers.extend((answer, ms) for answer in out)
        return answers

    def end(self, session: str) -> None:
        """Free the session's slot (unknown keys are ignored)."""
        if self.policy is not None:
            self.policy.end_session(session)

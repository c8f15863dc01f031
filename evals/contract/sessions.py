"""The batched, multi-session policy contract: one model call serves many episodes' chunk requests.

A :class:`~evals.contract.policy.Policy` holds one episode at a time (``reset`` then ``infer``). A
:class:`SessionPolicy` holds many at once, each under a caller-chosen session key, so that a batched runner
(``evals.run --batch B``) or a server with many clients (``evals.serve``) can gather the requests that are due
and answer them in one call. Each session keeps its own state (for DreamZero: its KV-cache slot, frame
index, prompt embedding): a session's answers never depend on which other sessions shared its calls.

Nothing here imports JAX or the rest of ``evals``.

Example:
    >>> import numpy as np
    >>> class Hold:
    ...     metadata = None
    ...     max_sessions = 4
    ...     def start_session(self, session: str, instruction: str, seed: int) -> None: ...
    ...     def infer_batch(self, requests):
    ...         return [{"actions": np.zeros((1, 8), np.float32)} for _ in requests]
    ...     def end_session(self, session: str) -> None: ...
    >>> isinstance(Hold(), SessionPolicy)
    True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@dataclasses.dataclass(frozen=True)
class SessionRequest:
    """One session's due chunk request: the same observation dict ``Policy.infer`` takes."""

    session: str
    obs: Mapping[str, Any]


@runtime_checkable
class SessionPolicy(Protocol):
    """A policy that serves up to ``max_sessions`` concurrent sessions and answers their requests in batches.

    - ``start_session(session, instruction, seed)`` starts (or restarts) a session: what ``reset`` is for one
      episode. A new key may take a free slot while other sessions are mid-episode.
    - ``infer_batch(requests)`` answers each request (at most one per session per call) with what
      ``Policy.infer`` would return for it alone, in request order.
    - ``end_session(session)`` frees the session's slot; unknown keys are ignored.
    - ``metadata`` is the :class:`~evals.contract.policy.PolicyMetadata` every session shares.
    """

    metadata: Any
    max_sessions: int

    def start_session(self, session: str, instruction: str, seed: int) -> None: ...

    def infer_batch(self, requests: Sequence[SessionRequest]) -> list[dict[str, Any]]: ...

    def end_session(self, session: str) -> None: ...

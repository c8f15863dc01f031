"""Policies the runner can evaluate, selected by ``--policy``.

Forms: ``expert``, ``random``, ``zero``, ``replay:<steps.parquet>``, ``dreamzero`` (``--checkpoint`` for real
weights) and ``remote:<host>:<port>`` (any openpi / RoboArena websocket policy server).

Example:
    >>> factory = PolicyFactory.from_spec("zero")
    >>> factory.describe()["name"]
    'zero'
    >>> PolicyFactory.from_spec("nope")
    Traceback (most recent call last):
    ...
    evals.policies.registry.PolicySpecError: unknown policy 'nope'; valid forms: expert, random, zero, replay:<steps.parquet>, dreamzero, remote:<host>:<port>
"""

from __future__ import annotations

from typing import Any

from evals.contract.policy import Policy
from evals.policies.options import PolicyOptionError, parse_policy_opts
from evals.policies.registry import REGISTRY, PolicySpecError, parse, valid_forms
from evals.policies.sessions import native_session_policy

__all__ = [
    "REGISTRY",
    "PolicyFactory",
    "PolicyOptionError",
    "PolicySpecError",
    "parse_policy_opts",
    "valid_forms",
]


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    return value


class PolicyFactory:
    """Builds the policy for each episode; created once per worker process.

    Use :meth:`from_spec`. ``for_episode`` may raise (e.g. a replay file without that episode): the runner
    records that on the episode like any other policy error. ``options`` are the typed policy options.
    """

    def __init__(self, spec: str, name: str, builder: Any, checkpoint: str | None, options: dict[str, Any]):
        self.spec = spec
        self.name = name
        self.checkpoint = checkpoint
        self.options = dict(options)
        self._builder = builder

    @classmethod
    def from_spec(
        cls, spec: str, *, checkpoint: str | None = None, options: dict[str, Any] | None = None
    ) -> PolicyFactory:
        """Parse and validate ``spec``; raises :class:`PolicySpecError` (message names the fix) on mistakes.

        ``options`` may be ``--policy-opt`` strings; they are converted to the policy's option types. Remote
        specs connect here, so an unreachable server is reported before any episode runs.
        """
        choice = parse(spec, checkpoint, options)
        return cls(spec, choice.name, choice.builder(), checkpoint, choice.options)

    def for_episode(self, env: Any, *, seed: int, episode_key: dict[str, Any]) -> Policy:
        """The policy for one episode of ``env`` (call ``reset(instruction)`` on it, or via the wrapper)."""
        return self._builder.for_episode(env, seed, episode_key)

    def session_policy(self, max_sessions: int) -> Any:
        """The policy's native batched :class:`~evals.contract.sessions.SessionPolicy` for up to
        ``max_sessions`` episodes at once (DreamZero), or None: the runner then keeps one policy per episode."""
        return native_session_policy(self._builder, max_sessions)

    def describe(self) -> dict[str, Any]:
        """JSON-able description for run.json: name, spec, checkpoint, options, and metadata where cheap."""
        metadata = self._builder.metadata()
        return _jsonable(
            {
                "name": self.name,
                "spec": self.spec,
                "checkpoint": self.checkpoint,
                "options": self.options,
                "metadata": None if metadata is None else metadata.to_dict(),
            }
        )

    def close(self) -> None:
        """Release connections and models."""
        self._builder.close()

    def __enter__(self) -> PolicyFactory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""The policy contract shared by every policy the runner can drive, and its typed metadata.

It has the shape of openpi's ``BasePolicy`` (and the RoboArena client), so a remote policy is just
another implementation. Nothing here imports JAX or the rest of ``evals``.

Example:
    >>> import numpy as np
    >>> class Hold:
    ...     metadata = PolicyMetadata(name="hold", action_space="joint_position", action_dim=8)
    ...     def reset(self, instruction: str) -> None: ...
    ...     def infer(self, obs: dict) -> dict:
    ...         return {"actions": np.zeros((1, 8), np.float32)}
    >>> isinstance(Hold(), Policy)
    True
    >>> metadata_from_dict({"name": "dz", "cameras": ["wrist_image_left"], "image_size": [180, 320]}).image_size
    (180, 320)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@dataclasses.dataclass(frozen=True)
class PolicyMetadata:
    """What a policy tells its driver before the first call.

    Attributes:
        name: short name, e.g. ``"zero"`` or ``"remote:127.0.0.1:8000"``.
        action_space: ``joint_position`` | ``joint_velocity`` | ``cartesian_velocity``; None when not yet known
            (a builder's metadata before it sees an env).
        action_dim: action vector length (gripper last); None when not yet known.
        cameras: observation image keys the policy needs; ``()`` for state-only policies (nothing rendered).
        image_size: ``(H, W)`` the policy wants its images at, or None for any size.
        chunk_length: actions per ``infer`` call (N), or None when it varies or is unknown.
        config: JSON-able settings recorded in run.json (model config, seed, server URI, ...).
    """

    name: str
    action_space: str | None = None
    action_dim: int | None = None
    cameras: tuple[str, ...] = ()
    image_size: tuple[int, int] | None = None
    chunk_length: int | None = None
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples stay tuples; ``config`` is copied)."""
        return {**dataclasses.asdict(self), "config": dict(self.config)}


def metadata_from_dict(raw: Mapping[str, Any]) -> PolicyMetadata:
    """The boundary conversion: a policy's plain metadata dict (e.g. ``DreamZeroPolicy.metadata``) -> typed.

    Missing keys take the field defaults; keys that are not fields go into ``config`` so nothing is lost.
    """
    fields = {f.name for f in dataclasses.fields(PolicyMetadata)}
    extra = {str(k): v for k, v in raw.items() if k not in fields}
    size = raw.get("image_size")
    dim, chunk = raw.get("action_dim"), raw.get("chunk_length")
    return PolicyMetadata(
        name=str(raw.get("name", "")),
        action_space=None if raw.get("action_space") is None else str(raw["action_space"]),
        action_dim=None if dim is None else int(dim),
        cameras=tuple(str(c) for c in raw.get("cameras") or ()),
        image_size=None if size is None else (int(size[0]), int(size[1])),
        chunk_length=None if chunk is None else int(chunk),
        config={**dict(raw.get("config") or {}), **extra},
    )


@runtime_checkable
class Policy(Protocol):
    """A (possibly chunk-predicting) policy.

    - ``reset(instruction)`` starts a new episode with its language instruction.
    - ``infer(obs)`` takes a DROID observation dict (``exterior_image_0_left``, ``exterior_image_1_left``,
      ``wrist_image_left`` uint8 HxWx3, ``joint_position`` (7,), ``gripper_position`` (1,),
      ``cartesian_position`` (6,), plus ``prompt``) and returns ``{"actions": float32 (N, action_dim)}``,
      optionally ``"timing": {stage: ms}``, ``"video"`` and ``"labels"`` (the clean actions, same shape, when
      the executed ``"actions"`` are deliberately perturbed, e.g. the noisy expert; a dataset records these).
    - ``metadata`` is a :class:`PolicyMetadata` (policies from outside ``evals`` that keep a plain dict are
      converted with :func:`metadata_from_dict` where they enter).

    Per-step actions come from :class:`evals.contract.adapter.ChunkedPolicyWrapper`.
    """

    metadata: PolicyMetadata

    def reset(self, instruction: str) -> None: ...

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]: ...

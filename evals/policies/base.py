"""The policy contract shared by every policy the runner can drive.

It has the shape of openpi's ``BasePolicy`` (and the RoboArena client), so a remote policy is just
another implementation. Nothing here imports JAX.

Example:
    >>> import numpy as np
    >>> class Hold:
    ...     metadata = {"action_dim": 8, "action_space": "joint_position"}
    ...     def reset(self, instruction: str) -> None: ...
    ...     def infer(self, obs: dict) -> dict:
    ...         return {"actions": np.zeros((1, 8), np.float32)}
    >>> isinstance(Hold(), Policy)
    True
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Policy(Protocol):
    """A (possibly chunk-predicting) policy.

    - ``reset(instruction)`` starts a new episode with its language instruction.
    - ``infer(obs)`` takes a DROID observation dict (``exterior_image_0_left``, ``exterior_image_1_left``,
      ``wrist_image_left`` uint8 HxWx3, ``joint_position`` (7,), ``gripper_position`` (1,),
      ``cartesian_position`` (6,), plus ``prompt``) and returns ``{"actions": float32 (N, action_dim)}``,
      optionally ``"timing": {stage: ms}`` and ``"video"``.
    - ``metadata`` describes the action space, action_dim, expected cameras/resolution and chunk length:
      ``name``, ``action_space``, ``action_dim``, ``cameras`` (obs image keys the policy needs; ``()`` for
      state-only policies), ``image_size`` ((H, W) or None), ``chunk_length`` (N or None) and ``config``
      (JSON-able, recorded in run.json).

    Per-step actions come from :class:`evals.wrappers.ChunkedPolicyWrapper`; policies are built per episode by
    :class:`evals.policies.PolicyFactory`.
    """

    metadata: dict[str, Any]

    def reset(self, instruction: str) -> None: ...

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]: ...

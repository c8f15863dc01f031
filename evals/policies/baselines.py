"""Honest baselines: ``random`` (uniform in the action space) and ``zero`` (do nothing).

Both work from an :class:`ActionSpec`, read from the env (``ActionSpec.from_env``) in the runner or from
defaults in ``python -m evals.serve``. For joint-position control ``random`` draws targets inside the
joint limits (uniform over the action box would mostly command unreachable joints) and ``zero`` holds the
current joints; for velocity spaces ``zero`` sends zero velocities. Both hold the gripper where it is.

Example:
    >>> import numpy as np
    >>> spec = ActionSpec.default("joint_velocity")
    >>> ZeroPolicy(spec).infer({"gripper_position": np.array([1.0])})["actions"].tolist()
    [[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from evals.contract.policy import PolicyMetadata

# Franka Emika Panda joint limits (rad), from Franka's datasheet; the default when no env is at hand.
PANDA_JOINT_LOW = (-2.8973, -1.7628, -2.8973, -3.0718, -2.8973, -0.0175, -2.8973)
PANDA_JOINT_HIGH = (2.8973, 1.7628, 2.8973, -0.0698, 2.8973, 3.7525, 2.8973)
# DROID's velocity action spaces are normalised to [-1, 1]; 6 cartesian dims, 7 joint dims, + gripper.
_DEFAULT_DIMS = {"joint_position": 8, "joint_velocity": 8, "cartesian_velocity": 7}


@dataclasses.dataclass(frozen=True)
class ActionSpec:
    """What a baseline needs to know about the action space (gripper is the last dimension, in [0, 1])."""

    action_space: str
    low: tuple[float, ...]
    high: tuple[float, ...]
    joint_low: tuple[float, ...] | None = None
    joint_high: tuple[float, ...] | None = None

    @property
    def action_dim(self) -> int:
        return len(self.low)

    @classmethod
    def from_env(cls, env: Any) -> ActionSpec:
        """From ``env.action_space`` (a Box) and ``env.unwrapped.spec_info`` (the envs contract)."""
        info = env.unwrapped.spec_info
        limits = info.get("joint_limits")
        return cls(
            action_space=str(info["action_space"]),
            low=tuple(float(x) for x in np.asarray(env.action_space.low).reshape(-1)),
            high=tuple(float(x) for x in np.asarray(env.action_space.high).reshape(-1)),
            joint_low=None if limits is None else tuple(float(x) for x in limits[0]),
            joint_high=None if limits is None else tuple(float(x) for x in limits[1]),
        )

    @classmethod
    def default(cls, action_space: str) -> ActionSpec:
        """A Panda in a DROID action space, for serving a baseline without an env."""
        if action_space not in _DEFAULT_DIMS:
            raise ValueError(f"unknown action space {action_space!r}; valid: {', '.join(_DEFAULT_DIMS)}")
        dim = _DEFAULT_DIMS[action_space]
        if action_space == "joint_position":
            low, high = (*PANDA_JOINT_LOW, 0.0), (*PANDA_JOINT_HIGH, 1.0)
        else:
            low, high = (-1.0,) * (dim - 1) + (0.0,), (1.0,) * (dim - 1) + (1.0,)
        return cls(action_space, low, high, PANDA_JOINT_LOW, PANDA_JOINT_HIGH)

    def sampling_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Bounds ``random`` samples in: the action box, narrowed to the joint limits for joint positions."""
        low, high = np.array(self.low, np.float64), np.array(self.high, np.float64)
        if self.action_space == "joint_position" and self.joint_low is not None:
            n = len(self.joint_low)
            low[:n] = np.maximum(low[:n], self.joint_low)
            high[:n] = np.minimum(high[:n], self.joint_high)
        if not (np.isfinite(low).all() and np.isfinite(high).all()):
            raise ValueError(f"random policy needs a bounded action space, got low={low}, high={high}")
        return low, high

    def metadata(self, name: str, chunk_length: int = 1, **config: Any) -> PolicyMetadata:
        """Policy metadata for a state-only policy in this action space (``config`` is added)."""
        return PolicyMetadata(
            name=name,
            action_space=self.action_space,
            action_dim=self.action_dim,
            chunk_length=chunk_length,
            config={"action_space": self.action_space, **config},
        )


def _checked_chunk_length(chunk_length: int) -> int:
    if int(chunk_length) < 1:
        raise ValueError(f"chunk_length must be >= 1, got {chunk_length}")
    return int(chunk_length)


class RandomPolicy:
    """Uniform random actions, ``chunk_length`` independent draws per call (1 in the runner; a served DROID
    chunk when served); the same seed gives the same sequence after every ``reset``."""

    def __init__(self, spec: ActionSpec, seed: int, chunk_length: int = 1) -> None:
        self.spec = spec
        self.seed = int(seed)
        self.chunk_length = _checked_chunk_length(chunk_length)
        self._low, self._high = spec.sampling_bounds()
        self.metadata = spec.metadata("random", self.chunk_length, seed=self.seed)
        self._rng = np.random.default_rng(self.seed)

    def reset(self, instruction: str) -> None:
        self._rng = np.random.default_rng(self.seed)

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        size = (self.chunk_length, self._low.shape[0])
        return {"actions": self._rng.uniform(self._low, self._high, size).astype(np.float32)}


class ZeroPolicy:
    """The "do nothing" action: hold the current joints (or zero velocity) and the current gripper state,
    repeated ``chunk_length`` times."""

    def __init__(self, spec: ActionSpec, chunk_length: int = 1) -> None:
        self.spec = spec
        self.chunk_length = _checked_chunk_length(chunk_length)
        self.metadata = spec.metadata("zero", self.chunk_length)

    def reset(self, instruction: str) -> None:
        pass

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        action = np.zeros(self.spec.action_dim, np.float32)
        if self.spec.action_space == "joint_position":
            joints = np.asarray(obs["joint_position"], np.float32).reshape(-1)
            action[: joints.shape[0]] = joints
        if "gripper_position" in obs:
            action[-1] = float(np.asarray(obs["gripper_position"]).reshape(-1)[0])
        return {"actions": np.tile(action, (self.chunk_length, 1))}

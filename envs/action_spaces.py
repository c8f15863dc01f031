"""Action spaces: DROID's absolute joint positions (default), joint velocities, and cartesian velocities via OSC.

Each space is an arm controller for robosuite plus a gripper command in [0, 1] (DROID: 0 open, 1 closed) that maps
to robosuite's [-1, 1] grip command. The arm part and its bounds depend on the embodiment's joint limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_JOINT_VELOCITY = 1.5  # rad/s; the joint_velocity action is in physical units, clipped to this
CARTESIAN_STEP = (0.05, 0.05, 0.05, 0.5, 0.5, 0.5)  # metres / radians per control step at |action| = 1 (OSC)


def _validate(name: str, action, dim: int) -> np.ndarray:
    arr = np.asarray(action)
    if arr.shape != (dim,):
        raise ValueError(f"action for action space {name!r} must have shape ({dim},), got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ValueError(f"action for action space {name!r} must be real numbers, got dtype {arr.dtype}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(
            f"action for action space {name!r} has a non-finite value {arr[bad[0]]} at index {int(bad[0])}"
        )
    return arr.astype(np.float64)


@dataclass(frozen=True)
class ActionSpace:
    """Base: `dim` = arm dims + 1 gripper; subclasses define the controller, the bounds and the arm mapping."""

    name: str

    def arm_controller(self) -> dict:
        raise NotImplementedError

    def arm_bounds(self, joint_lo: np.ndarray, joint_hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def bounds(self, joint_lo, joint_hi) -> tuple[np.ndarray, np.ndarray]:
        """float32 (low, high) of the full action (arm + gripper)."""
        lo, hi = self.arm_bounds(joint_lo, joint_hi)
        return np.append(lo, 0.0).astype(np.float32), np.append(hi, 1.0).astype(np.float32)

    def controller_config(self) -> dict:
        """robosuite composite controller config (single right arm, simple grip)."""
        return {
            "type": "BASIC",
            "body_parts": {"right": {**self.arm_controller(), "gripper": {"type": "GRIP"}}},
        }

    def validate(self, action, dim: int) -> np.ndarray:
        """float64 copy of `action`; wrong shape or non-finite values raise `ValueError` naming the index."""
        return _validate(self.name, action, dim)

    def to_robosuite(self, action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """Clip a validated action to its bounds and convert the gripper to robosuite's [-1 open, 1 closed]."""
        clipped = np.clip(action, low, high)
        out = clipped.copy()
        out[-1] = 2.0 * clipped[-1] - 1.0
        return out

    def hold(self, joint_position: np.ndarray, gripper: float) -> np.ndarray:
        """The action that keeps the arm where it is and the gripper as it is ("zero" policy)."""
        raise NotImplementedError


@dataclass(frozen=True)
class JointPosition(ActionSpace):
    """Absolute joint targets tracked by robosuite's joint-position impedance controller (DROID's action)."""

    kp: float = 150.0

    def arm_controller(self):
        return {
            "type": "JOINT_POSITION",
            "input_type": "absolute",
            "kp": self.kp,
            "damping_ratio": 1.0,
            "impedance_mode": "fixed",
            "kp_limits": [0, 300],
            "damping_ratio_limits": [0, 10],
            "qpos_limits": None,
            "interpolation": None,
            "ramp_ratio": 0.2,
        }

    def arm_bounds(self, joint_lo, joint_hi):
        return joint_lo, joint_hi

    def hold(self, joint_position, gripper):
        return np.append(joint_position, gripper).astype(np.float32)


@dataclass(frozen=True)
class JointVelocity(ActionSpace):
    """Joint velocities in rad/s (|v| <= MAX_JOINT_VELOCITY) tracked by robosuite's joint-velocity controller."""

    def arm_controller(self):
        return {
            "type": "JOINT_VELOCITY",
            "input_max": MAX_JOINT_VELOCITY,
            "input_min": -MAX_JOINT_VELOCITY,
            "output_max": MAX_JOINT_VELOCITY,
            "output_min": -MAX_JOINT_VELOCITY,
            "kp": 3.0,
            "velocity_limits": [-MAX_JOINT_VELOCITY, MAX_JOINT_VELOCITY],
            "interpolation": None,
            "ramp_ratio": 0.2,
        }

    def arm_bounds(self, joint_lo, joint_hi):
        vmax = np.full(len(joint_lo), MAX_JOINT_VELOCITY)
        return -vmax, vmax

    def hold(self, joint_position, gripper):
        return np.append(np.zeros_like(joint_position), gripper).astype(np.float32)


@dataclass(frozen=True)
class CartesianVelocity(ActionSpace):
    """Normalised end-effector twist in [-1, 1]^6 (xyz, rotation axis-angle) through robosuite's OSC controller."""

    def arm_controller(self):
        return {
            "type": "OSC_POSE",
            "input_max": 1,
            "input_min": -1,
            "output_max": list(CARTESIAN_STEP),
            "output_min": [-s for s in CARTESIAN_STEP],
            "kp": 150,
            "damping_ratio": 1,
            "impedance_mode": "fixed",
            "kp_limits": [0, 300],
            "damping_ratio_limits": [0, 10],
            "position_limits": None,
            "orientation_limits": None,
            "uncouple_pos_ori": True,
            "input_type": "delta",
            "input_ref_frame": "world",
            "interpolation": None,
            "ramp_ratio": 0.2,
        }

    def arm_bounds(self, joint_lo, joint_hi):
        return -np.ones(6), np.ones(6)

    def hold(self, joint_position, gripper):
        return np.append(np.zeros(6), gripper).astype(np.float32)


ACTION_SPACES: dict[str, ActionSpace] = {
    "joint_position": JointPosition("joint_position"),
    "joint_velocity": JointVelocity("joint_velocity"),
    "cartesian_velocity": CartesianVelocity("cartesian_velocity"),
}


def get_action_space(name: str) -> ActionSpace:
    """Look up an action space by name; unknown names raise `ValueError` listing the valid ones."""
    if name not in ACTION_SPACES:
        raise ValueError(f"unknown action_space {name!r}; valid action spaces: {sorted(ACTION_SPACES)}")
    return ACTION_SPACES[name]

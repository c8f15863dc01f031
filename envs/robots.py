"""Embodiments: which robosuite arm and gripper stand behind the DROID observation/action interface.

Every embodiment is a 7-DoF arm so that `joint_position` stays (7,) as DROID expects. Grippers are robosuite's
defaults for each arm (Panda keeps its parallel-jaw PandaGripper rather than DROID's Robotiq 2F-85; see
docs/decisions.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Continuous (unlimited) joints get this symmetric range in the action space and in `spec_info`.
UNLIMITED_JOINT_RANGE = 2.0 * np.pi


@dataclass(frozen=True)
class Embodiment:
    """A robosuite arm + gripper pairing exposed under a short lowercase name."""

    name: str
    robosuite_robot: str
    gripper: str  # robosuite gripper class name; "default" would hide it from spec_info, so it is explicit
    dof: int = 7


EMBODIMENTS: dict[str, Embodiment] = {
    "panda": Embodiment("panda", "Panda", "PandaGripper"),
    "iiwa": Embodiment("iiwa", "IIWA", "Robotiq140Gripper"),
    "kinova3": Embodiment("kinova3", "Kinova3", "Robotiq85Gripper"),
}


def get_embodiment(name: str) -> Embodiment:
    """Look up an embodiment by name; unknown names raise `ValueError` listing the valid ones."""
    if name not in EMBODIMENTS:
        raise ValueError(f"unknown embodiment {name!r}; valid embodiments: {sorted(EMBODIMENTS)}")
    return EMBODIMENTS[name]


def joint_limits(model, joint_names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) float32 arrays of the arm's joint limits read from a compiled MuJoCo model."""
    lo, hi = [], []
    for name in joint_names:
        jid = model.joint(name).id
        if model.jnt_limited[jid]:
            lo.append(model.jnt_range[jid, 0])
            hi.append(model.jnt_range[jid, 1])
        else:
            lo.append(-UNLIMITED_JOINT_RANGE)
            hi.append(UNLIMITED_JOINT_RANGE)
    return np.asarray(lo, np.float32), np.asarray(hi, np.float32)

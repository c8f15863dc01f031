"""What the camera renderer reads from `mjData`, recorded per step so frames can be rendered after the episode.

A failed episode's video is rendered afterwards from these records instead of at every live step. They hold
the poses MuJoCo's scene update reads (bodies, geoms, sites, cameras, lights, tendon paths), not the
integration state (qpos, qvel): robosuite's `lite_physics` step ends with the integrator, so the kinematics a
live frame is rendered from lag the integrated qpos by one substep, and `mj_forward` on a restored qpos would
draw the robot one substep ahead of the live frame. Copying the poses back reproduces the live pixels exactly.
"""

from __future__ import annotations

import mujoco
import numpy as np

# mjData fields that mjv_updateScene reads for the geoms, sites, cameras, lights and tendons it draws.
VIEW_FIELDS = (
    "xpos",
    "xquat",
    "xmat",
    "xipos",
    "ximat",
    "geom_xpos",
    "geom_xmat",
    "site_xpos",
    "site_xmat",
    "cam_xpos",
    "cam_xmat",
    "light_xpos",
    "light_xdir",
    "ten_wrapadr",
    "ten_wrapnum",
    "wrap_obj",
    "wrap_xpos",
    "qpos",
)

ViewState = dict[str, np.ndarray]


def capture_view_state(data: mujoco.MjData) -> ViewState:
    """Copies of the `VIEW_FIELDS` of `data` (a few tens of kB for the tasks here)."""
    return {name: np.array(getattr(data, name)) for name in VIEW_FIELDS}


def restore_view_state(data: mujoco.MjData, state: ViewState) -> mujoco.MjData:
    """Write a captured view state into `data` (a scratch `MjData` of the same model); returns `data`."""
    for name, value in state.items():
        getattr(data, name)[...] = value
    return data

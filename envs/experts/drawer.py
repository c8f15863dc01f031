"""Scripted expert for OpenDrawer: lower the closed gripper into the gap between the handle bar and the drawer
front, pull along the drawer's axis until it is open with some margin, then lift away.

Hooking (rather than grasping) the bar works the same for every gripper and tolerates small position errors.
"""

from __future__ import annotations

import numpy as np

from envs.experts.waypoints import Waypoint, WaypointExpert

APPROACH = 0.10  # m above the hook point before descending
PULL_LEAD = 0.08  # m the pull target leads the hand along the pull direction
OPEN_MARGIN = 0.02  # m pulled beyond the task's open distance


def _hook_point(s) -> np.ndarray:
    """Middle of the gap between the handle bar and the drawer front, at the bar's height."""
    d = s["drawer"]
    return d["handle_pos"] - d["pull_dir"] * d["handle_standoff"] / 2


def drawer_waypoints(expert: WaypointExpert, open_distance: float) -> list[Waypoint]:
    """Hook-and-pull waypoints; shared with the long-horizon expert."""
    d0 = expert.env.sim_state()["drawer"]
    # Finger axis along the handle bar (the cabinet's y axis): the closed fingers' thin side faces the pull.
    yaw = float(np.arctan2(d0["cabinet_mat"][1, 1], d0["cabinet_mat"][0, 1]))

    def pull(s):
        d = s["drawer"]
        if d["opening"] >= open_distance + OPEN_MARGIN:
            return s["eef_pos"], None  # open enough: stop (the waypoint counts as reached)
        return _hook_point(s) + d["pull_dir"] * PULL_LEAD - [0, 0, 0.005], None

    return [
        Waypoint(
            "above_handle", lambda s: (_hook_point(s) + np.array([0.0, 0.0, APPROACH]), yaw), 1.0, tol=0.012
        ),
        Waypoint("hook", lambda s: (_hook_point(s) - [0, 0, 0.005], yaw), 1.0, tol=0.01, max_steps=50),
        Waypoint("pull", pull, 1.0, tol=0.002, max_steps=100),
        Waypoint("lift_off", lambda s: (s["eef_pos"] + [0, 0, 0.12], None), 1.0, tol=0.03, max_steps=20),
    ]


def plan_drawer(expert: WaypointExpert) -> list[Waypoint]:
    return drawer_waypoints(expert, expert.env.sim_state()["open_distance"])


def make_drawer_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_drawer)

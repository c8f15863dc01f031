"""Scripted expert for Lift: grasp the cube from above and raise it well past the success height."""

from __future__ import annotations

import numpy as np

from envs.experts.pick_place import grasp_steps
from envs.experts.waypoints import Waypoint, WaypointExpert


def plan_lift(expert: WaypointExpert) -> list[Waypoint]:
    state = expert.env.sim_state()
    key = state["target_object"]
    top_z = expert.grasp_point(state["objects"][key], state)[2] + 2.0 * state["lift_height"] + 0.05
    return [
        *grasp_steps(expert, key),
        Waypoint(
            "lift", lambda s: (np.array([*s["eef_pos"][:2], top_z]), None), 1.0, tol=0.01, max_steps=10**6
        ),
    ]


def make_lift_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_lift)

"""Scripted expert for Lift: grasp the cube from above and raise it well past the success height."""

from __future__ import annotations

import numpy as np

from envs.experts.pick_place import APPROACH, grasp_offset
from envs.experts.waypoints import Waypoint, WaypointExpert


def plan_lift(expert: WaypointExpert) -> list[Waypoint]:
    state = expert.env.sim_state()
    key = state["target_object"]
    obj0 = state["objects"][key]
    yaw = expert.grasp_yaw(obj0)
    dz = grasp_offset(obj0)
    top_z = obj0["pos"][2] + dz + 2.0 * state["lift_height"] + 0.05

    def obj(s):
        return s["objects"][key]

    return [
        Waypoint("above", lambda s: (obj(s)["pos"] + [0, 0, APPROACH + dz], yaw), 0.0, tol=0.02),
        Waypoint("descend", lambda s: (obj(s)["pos"] + [0, 0, dz], yaw), 0.0, tol=0.008, max_steps=50),
        Waypoint("close", lambda s: (s["eef_pos"], None), 1.0, tol=1.0, hold=6),
        Waypoint("lift", lambda s: (np.array([*s["eef_pos"][:2], top_z]), None), 1.0, tol=0.01, max_steps=10**6),
    ]


def make_lift_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_lift)

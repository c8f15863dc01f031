"""Scripted expert for OpenDrawerPlaceCube: the drawer expert's hook-and-pull, then pick the cube and drop it
into the middle of the opened part of the tray from just above the cabinet top."""

from __future__ import annotations

import numpy as np

from envs.experts.drawer import drawer_waypoints
from envs.experts.pick_place import APPROACH
from envs.experts.waypoints import Waypoint, WaypointExpert

DROP_CLEARANCE = 0.03  # m between the cube's bottom and the cabinet top when the cube is let go


def _drop_xy(s) -> np.ndarray:
    """Centre of the opened part of the tray: between the tray's front wall and the cabinet's front face."""
    d = s["drawer"]
    mat = d["cabinet_mat"]
    tray_front = d["tray_pos"] + mat @ np.array([-d["tray_half_size"][0], 0.0, 0.0])
    cabinet_front = d["cabinet_pos"] + mat @ np.array([-d["cabinet_half_size"][0], 0.0, 0.0])
    return ((tray_front + cabinet_front) / 2)[:2]


def plan_drawer_cube(expert: WaypointExpert) -> list[Waypoint]:
    state = expert.env.sim_state()
    cube0 = state["objects"]["cube"]
    d0 = state["drawer"]
    yaw = expert.grasp_yaw(cube0)
    cabinet_top = d0["cabinet_pos"][2] + d0["cabinet_half_size"][2]
    release_z = cabinet_top + DROP_CLEARANCE + cube0["half_height"]  # cube centre height at release

    def cube(s):
        return s["objects"]["cube"]

    def over_tray(z_cube):
        def target(s):
            held = cube(s)["pos"] - s["eef_pos"]
            xy = _drop_xy(s) - held[:2]
            return np.array([xy[0], xy[1], z_cube - held[2]]), None

        return target

    return [
        *drawer_waypoints(expert, state["open_distance"]),
        Waypoint("above_cube", lambda s: (cube(s)["pos"] + [0, 0, APPROACH], yaw), 0.0, tol=0.02),
        Waypoint("descend", lambda s: (cube(s)["pos"], yaw), 0.0, tol=0.008, max_steps=50),
        Waypoint("close", lambda s: (s["eef_pos"], None), 1.0, tol=1.0, hold=6),
        Waypoint("lift", lambda s: (np.array([*s["eef_pos"][:2], release_z + 0.05]), None), 1.0, tol=0.02),
        Waypoint("carry", over_tray(release_z + 0.03), 1.0, tol=0.01, max_steps=80),
        Waypoint("lower", over_tray(release_z), 1.0, tol=0.01, max_steps=30),
        Waypoint("release", lambda s: (s["eef_pos"], None), 0.0, tol=1.0, hold=8),
        Waypoint("retreat", lambda s: (np.array([*s["eef_pos"][:2], release_z + 0.1]), None), 0.0, tol=0.02),
    ]


def make_drawer_cube_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_drawer_cube)

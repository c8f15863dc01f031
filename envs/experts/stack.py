"""Scripted expert for StackCubes: grasp the red cube from above, carry it over the green cube, lower it until
it almost touches, let go and back off."""

from __future__ import annotations

import numpy as np

from envs.experts.pick_place import APPROACH
from envs.experts.waypoints import Waypoint, WaypointExpert

CLEARANCE = 0.04  # m between the carried cube's bottom and the base cube's top while carrying
RELEASE_GAP = 0.004  # m between the two cubes when the gripper lets go


def plan_stack(expert: WaypointExpert) -> list[Waypoint]:
    state = expert.env.sim_state()
    top0, base0 = state["objects"]["cube_top"], state["objects"]["cube_base"]
    yaw = expert.grasp_yaw(top0)
    base_top = base0["pos"][2] + base0["half_height"]

    def top(s):
        return s["objects"]["cube_top"]

    def over_base(gap):
        def target(s):
            # Put the carried cube (not the hand) over the base cube: correct for where it sits in the hand.
            held = top(s)["pos"] - s["eef_pos"]
            goal = s["objects"]["cube_base"]["pos"][:2] - held[:2]
            return np.array([goal[0], goal[1], base_top + gap + top0["half_height"] - held[2]]), None

        return target

    return [
        Waypoint("above", lambda s: (top(s)["pos"] + [0, 0, APPROACH], yaw), 0.0, tol=0.02),
        Waypoint("descend", lambda s: (top(s)["pos"], yaw), 0.0, tol=0.008, max_steps=50),
        Waypoint("close", lambda s: (s["eef_pos"], None), 1.0, tol=1.0, hold=6),
        Waypoint("lift", lambda s: (np.array([*s["eef_pos"][:2], base_top + CLEARANCE + 0.05]), None), 1.0),
        Waypoint("carry", over_base(CLEARANCE), 1.0, tol=0.006, max_steps=80),
        Waypoint("lower", over_base(RELEASE_GAP), 1.0, tol=0.006, max_steps=40),
        Waypoint("release", lambda s: (s["eef_pos"], None), 0.0, tol=1.0, hold=6),
        Waypoint("retreat", lambda s: (np.array([*s["eef_pos"][:2], base_top + 0.12]), None), 0.0, tol=0.02),
    ]


def make_stack_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_stack)

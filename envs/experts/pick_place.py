"""Scripted expert for the pick-and-place family: grasp the object from above, carry it over the container,
lower it in and let go."""

from __future__ import annotations

import numpy as np

from envs.experts.waypoints import Waypoint, WaypointExpert

APPROACH = 0.10  # m above the grasp point before descending
CLEARANCE = 0.05  # m between the object's bottom and the container rim while carrying
RELEASE_DROP = 0.015  # m above the rim the object's bottom is released from


def grasp_offset(obj: dict) -> float:
    """Grasp this far above the object's centre: tall objects are held near the top."""
    return max(0.0, obj["half_height"] - 0.025)


def plan_pick_place(expert: WaypointExpert) -> list[Waypoint]:
    state = expert.env.sim_state()
    obj_key, con_key = state["target_object"], state["target_container"]
    obj0 = state["objects"][obj_key]
    con0 = state["objects"][con_key]
    yaw = expert.grasp_yaw(obj0)
    dz = grasp_offset(obj0)
    rim = con0["pos"][2] + con0["height"] / 2
    # Height of the grip point while carrying: the object's bottom clears the rim.
    carry_z = rim + CLEARANCE + obj0["half_height"] + dz
    release_z = rim + RELEASE_DROP + obj0["half_height"] + dz

    def obj(s):
        return s["objects"][obj_key]

    def over_container(z):
        def target(s):
            # Put the *object* (not the hand) over the container centre: correct for where it sits in the hand.
            held = obj(s)["pos"][:2] - s["eef_pos"][:2]
            xy = s["objects"][con_key]["pos"][:2] - held
            return np.array([xy[0], xy[1], z]), None

        return target

    return [
        Waypoint("above", lambda s: (obj(s)["pos"] + [0, 0, APPROACH + dz], yaw), 0.0, tol=0.02),
        Waypoint("descend", lambda s: (obj(s)["pos"] + [0, 0, dz], yaw), 0.0, tol=0.008, max_steps=50),
        Waypoint("close", lambda s: (s["eef_pos"], None), 1.0, tol=1.0, hold=6),
        Waypoint("lift", lambda s: (np.array([*s["eef_pos"][:2], carry_z]), None), 1.0, tol=0.02),
        Waypoint("carry", over_container(carry_z), 1.0, tol=0.01, max_steps=80),
        Waypoint("lower", over_container(release_z), 1.0, tol=0.01, max_steps=40),
        Waypoint("release", lambda s: (s["eef_pos"], None), 0.0, tol=1.0, hold=6),
        Waypoint("retreat", lambda s: (np.array([*s["eef_pos"][:2], carry_z + 0.05]), None), 0.0, tol=0.02),
    ]


def make_pick_place_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_pick_place)

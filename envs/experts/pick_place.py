"""Scripted expert for the pick-and-place family: grasp the object from above, carry it over the container,
lower it in and let go. A missed grasp sends the plan back to the approach."""

from __future__ import annotations

import numpy as np

from envs.experts.waypoints import Waypoint, WaypointExpert

APPROACH = 0.10  # m above the grasp point before descending
CLEARANCE = 0.05  # m between the object's bottom and the container rim while carrying
RELEASE_DROP = 0.015  # m above the rim the object's bottom is released from
CLOSE_STEPS = 10  # control steps for the fingers to close (slowest gripper: Robotiq 140)
MAX_HELD_OFFSET = 0.05  # m; bounds the in-hand correction so a dropped object cannot send the arm away


def grasp_steps(expert: WaypointExpert, key: str) -> list[Waypoint]:
    """Approach from above, descend, close; the close step retries from the approach if nothing is held."""
    state = expert.env.sim_state()
    yaw = expert.grasp_yaw(state["objects"][key])

    def obj(s):
        return s["objects"][key]

    return [
        Waypoint("above", lambda s: (expert.grasp_point(obj(s), s, APPROACH), yaw), 0.0, tol=0.02),
        Waypoint("descend", lambda s: (expert.grasp_point(obj(s), s), yaw), 0.0, tol=0.008, max_steps=40),
        Waypoint(
            "close",
            lambda s: (s["eef_pos"], None),
            1.0,
            tol=1.0,
            hold=CLOSE_STEPS,
            require=lambda s: bool(obj(s)["grasped"]),
            retry_to=0,
        ),
    ]


def plan_pick_place(expert: WaypointExpert) -> list[Waypoint]:
    state = expert.env.sim_state()
    obj_key, con_key = state["target_object"], state["target_container"]
    obj0 = state["objects"][obj_key]
    con0 = state["objects"][con_key]
    grip_above_bottom = expert.grasp_point(obj0, state)[2] - (obj0["pos"][2] - obj0["half_height"])
    rim = con0["pos"][2] + con0["height"] / 2
    carry_z = rim + CLEARANCE + grip_above_bottom
    release_z = rim + RELEASE_DROP + grip_above_bottom

    def over_container(z):
        def target(s):
            # Put the *object* (not the hand) over the container centre: correct for where it sits in the hand.
            held = s["objects"][obj_key]["pos"][:2] - s["eef_pos"][:2]
            norm = np.linalg.norm(held)
            if norm > MAX_HELD_OFFSET:
                held = held * (MAX_HELD_OFFSET / norm)
            xy = s["objects"][con_key]["pos"][:2] - held
            return np.array([xy[0], xy[1], z]), None

        return target

    return [
        *grasp_steps(expert, obj_key),
        Waypoint("lift", lambda s: (np.array([*s["eef_pos"][:2], carry_z]), None), 1.0, tol=0.02),
        Waypoint("carry", over_container(carry_z), 1.0, tol=0.01, max_steps=80),
        Waypoint("lower", over_container(release_z), 1.0, tol=0.01, max_steps=40),
        Waypoint("release", lambda s: (s["eef_pos"], None), 0.0, tol=1.0, hold=6),
        Waypoint("retreat", lambda s: (np.array([*s["eef_pos"][:2], carry_z + 0.05]), None), 0.0, tol=0.02),
    ]


def make_pick_place_expert(env) -> WaypointExpert:
    return WaypointExpert(env, plan_pick_place)

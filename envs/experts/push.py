"""Scripted expert for PushToTarget: put the closed gripper behind the puck on the puck-target line and push
along that line, steering the contact point so the puck keeps heading for the target; if the puck slips away
sideways, back off and line up again."""

from __future__ import annotations

import numpy as np

from envs.experts.waypoints import Waypoint, WaypointExpert

PUSH_HEIGHT = 0.02  # m above the table of the fingertips' centre while pushing
BEHIND = 0.07  # m from the puck centre to the start of the push
CONTACT = 0.045  # m from the puck centre the pusher aims at (puck radius + finger half width)
LEAD = 0.03  # m the push target leads the contact point
LOST = 0.025  # m of sideways pusher-to-line error that restarts the approach
DONE = 0.008  # m of puck-to-target distance at which pushing stops


def _line(s) -> tuple[np.ndarray, np.ndarray, float]:
    """(puck xy, unit direction puck -> target, distance)."""
    puck = s["objects"]["puck"]["pos"][:2]
    delta = s["target_pos"][:2] - puck
    dist = float(np.linalg.norm(delta))
    return puck, delta / max(dist, 1e-6), dist


def _lateral(s) -> np.ndarray:
    puck, u, _ = _line(s)
    rel = s["eef_pos"][:2] - puck
    return rel - np.dot(rel, u) * u


def plan_push(expert: WaypointExpert) -> list[Waypoint]:
    z = expert.env.sim_state()["table_top_z"] + PUSH_HEIGHT

    def behind(dz):
        def target(s):
            puck, u, _ = _line(s)
            return np.array([*(puck - u * BEHIND), z + dz]), None

        return target

    def push(s):
        puck, u, dist = _line(s)
        if dist < DONE:
            return s["eef_pos"], None  # on target: stop here (the waypoint counts as reached)
        xy = puck + u * min(dist, LEAD) - u * CONTACT - _lateral(s)
        return np.array([xy[0], xy[1], z]), None

    return [
        Waypoint("above_behind", behind(0.08), 1.0, tol=0.015),
        Waypoint("behind", behind(0.0), 1.0, tol=0.01, max_steps=40),
        Waypoint("push", push, 1.0, tol=0.002, max_steps=150),
        Waypoint("retreat", lambda s: (np.array([*s["eef_pos"][:2], z + 0.1]), None), 1.0, tol=0.02),
    ]


class PushExpert(WaypointExpert):
    """A `WaypointExpert` that restarts the approach when the pusher has slid off the puck-target line."""

    def act(self, obs=None) -> np.ndarray:
        if self.index == 2 and np.linalg.norm(_lateral(self.env.sim_state())) > LOST:
            self.index, self.count, self.held = 0, 0, 0
        return super().act(obs)


def make_push_expert(env) -> WaypointExpert:
    return PushExpert(env, plan_push)

"""Scripted experts (privileged state) and baseline agents.

expert = make_expert(env); expert.reset()   # after env.reset()
action = expert.act(obs)
"""

from __future__ import annotations

from collections.abc import Callable

from envs.experts.baselines import RandomAgent, ZeroAgent
from envs.experts.drawer import make_drawer_expert
from envs.experts.lift import make_lift_expert
from envs.experts.long_horizon import make_drawer_cube_expert
from envs.experts.pick_place import make_pick_place_expert
from envs.experts.push import make_push_expert
from envs.experts.stack import make_stack_expert
from envs.experts.waypoints import ArmIK, Waypoint, WaypointExpert

# task family (TaskConfig.family) -> expert constructor. Engineer B: append one line per new family.
EXPERTS: dict[str, Callable] = {
    "pick_place": make_pick_place_expert,
    "lift": make_lift_expert,
    "stack": make_stack_expert,
    "push": make_push_expert,
    "drawer": make_drawer_expert,
    "drawer_cube": make_drawer_cube_expert,
}

__all__ = ["EXPERTS", "ArmIK", "RandomAgent", "Waypoint", "WaypointExpert", "ZeroAgent", "make_expert"]


def make_expert(env):
    """The scripted expert for `env`'s task family; raises `ValueError` when the family has none."""
    family = env.unwrapped.task.config.family
    if family not in EXPERTS:
        raise ValueError(
            f"no scripted expert for task family {family!r}; experts exist for {sorted(EXPERTS)}"
        )
    return EXPERTS[family](env)

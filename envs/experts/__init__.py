"""Scripted experts (privileged state) and baseline agents.

expert = make_expert(env); expert.reset()   # after env.reset()
action = expert.act(obs)

Each task's expert is named by its entry in `envs.registry.TASKS`.
"""

from __future__ import annotations

from envs.experts.baselines import RandomAgent, ZeroAgent
from envs.experts.waypoints import ArmIK, Waypoint, WaypointExpert

__all__ = ["ArmIK", "RandomAgent", "Waypoint", "WaypointExpert", "ZeroAgent", "make_expert"]


def make_expert(env) -> WaypointExpert:
    """The scripted expert of `env`'s task; raises `ValueError` for a task that is not registered."""
    # Imported here, not at the top: the registry imports the expert modules of this package.
    from envs.registry import TASKS

    name = env.unwrapped.task.config.name
    if name not in TASKS:
        raise ValueError(f"no scripted expert for task {name!r}; experts exist for {list(TASKS)}")
    return TASKS[name].expert(env)

"""The task table: one `TaskEntry` (task class, config, scripted expert) per task. See FRAMEWORK.md to add one.

Each task's config lives in its task module; this file only pairs it with its class and expert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from envs.experts.drawer import make_drawer_expert
from envs.experts.lift import make_lift_expert
from envs.experts.long_horizon import make_drawer_cube_expert
from envs.experts.pick_place import make_pick_place_expert
from envs.experts.push import make_push_expert
from envs.experts.stack import make_stack_expert
from envs.experts.waypoints import WaypointExpert
from envs.tasks.base import Task, TaskConfig
from envs.tasks.drawer import DRAWER_CONFIG, DrawerTask
from envs.tasks.lift import LIFT_CONFIG, LiftTask
from envs.tasks.long_horizon import DRAWER_CUBE_CONFIG, DrawerCubeTask
from envs.tasks.pick_place import PICK_PLACE_CONFIGS, PickPlaceTask
from envs.tasks.push import PUSH_CONFIG, PushTask
from envs.tasks.stack import STACK_CONFIG, StackTask


@dataclass(frozen=True)
class TaskEntry:
    """A registered task: `task_class(config)` builds it; `expert(env)` is its privileged scripted expert."""

    task_class: type[Task]
    config: TaskConfig
    expert: Callable[[Any], WaypointExpert]

    @property
    def name(self) -> str:
        return self.config.name

    def build(self) -> Task:
        """A fresh task instance (one per environment)."""
        return self.task_class(self.config)


_ENTRIES = (
    TaskEntry(PickPlaceTask, PICK_PLACE_CONFIGS["CubeInBowl"], make_pick_place_expert),
    TaskEntry(PickPlaceTask, PICK_PLACE_CONFIGS["CanInMug"], make_pick_place_expert),
    TaskEntry(PickPlaceTask, PICK_PLACE_CONFIGS["FruitInBin"], make_pick_place_expert),
    TaskEntry(LiftTask, LIFT_CONFIG, make_lift_expert),
    TaskEntry(StackTask, STACK_CONFIG, make_stack_expert),
    TaskEntry(PushTask, PUSH_CONFIG, make_push_expert),
    TaskEntry(DrawerTask, DRAWER_CONFIG, make_drawer_expert),
    TaskEntry(DrawerCubeTask, DRAWER_CUBE_CONFIG, make_drawer_cube_expert),
)
# Task name (the config's `name`) -> entry, in registry order (list_tasks and the gym ids follow it).
TASKS: dict[str, TaskEntry] = {entry.name: entry for entry in _ENTRIES}


def get_task(name: str) -> TaskEntry:
    """Look up a registered task; unknown names raise `ValueError` listing the valid ones."""
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {list(TASKS)}")
    return TASKS[name]

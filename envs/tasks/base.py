"""Task API: a frozen config (language, horizon, pose ranges) plus a `Task` that builds objects, places them,
and judges success/progress from simulator state. See envs/FRAMEWORK.md for how to add one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TaskConfig:
    """What every task declares. Subclass (frozen) to add task-specific fields."""

    name: str
    family: str  # tasks sharing a Task class and expert (reported by envs.task_info)
    instruction: str
    paraphrases: tuple[str, ...]
    description: str
    horizon: int = 300  # control steps at 15 Hz (20 s)
    xy_range: float = 0.05  # default half-width (m) of each object's placement square
    yaw_range: float = float(np.pi / 4)  # default half-range (rad) of each object's yaw


@dataclass(frozen=True)
class Evaluation:
    """A task's judgement of the current simulator state."""

    success: bool
    progress: float  # in [0, 1]; staged (e.g. reached 0.25, grasped 0.5, lifted 0.75, placed 1.0)
    stages: dict[str, bool]


class Task:
    """Base class. One instance per environment; `build` is called once, the rest on every reset/step.

    Subclasses implement:
      build() -> list of robosuite MujocoObjects (each with a free joint) added to the table scene
      place(scene, rng, xy_range, yaw_range) -> dict of flat sampled values (e.g. "object_pose.dx")
      evaluate(scene) -> Evaluation
      privileged_state(scene) -> dict of task-specific entries for `env.unwrapped.sim_state()`
    """

    def __init__(self, config: TaskConfig):
        self.config = config

    def build(self) -> list:
        raise NotImplementedError

    def place(self, scene, rng: np.random.Generator, xy_range: float, yaw_range: float) -> dict:
        raise NotImplementedError

    def evaluate(self, scene) -> Evaluation:
        raise NotImplementedError

    def privileged_state(self, scene) -> dict:
        return {}


def staged_progress(stages: dict[str, bool]) -> float:
    """Progress = (index of the last stage reached + 1) / number of stages, for stages ordered first to last.

    Later stages count even when earlier ones no longer hold (a placed object is no longer grasped).
    """
    last = 0
    for i, reached in enumerate(stages.values(), start=1):
        if reached:
            last = i
    return last / len(stages)

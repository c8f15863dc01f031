"""Lift: pick a cube up off the table."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from robosuite.models.objects import BoxObject

from envs.tasks.base import Evaluation, Task, TaskConfig, staged_progress

REACH_DISTANCE = 0.05  # m, eef to object centre


@dataclass(frozen=True)
class LiftConfig(TaskConfig):
    cube_half_size: float = 0.02
    cube_rgba: tuple[float, float, float, float] = (0.85, 0.15, 0.15, 1.0)
    lift_height: float = 0.05  # m above the resting height that counts as lifted
    center: tuple[float, float] = (0.0, 0.0)


LIFT_CONFIG = LiftConfig(
    name="Lift",
    family="lift",
    instruction="pick up the red cube",
    paraphrases=(
        "lift the red cube",
        "grab the red block and raise it",
        "pick the cube up off the table",
    ),
    description="Lift a 4 cm cube at least 5 cm off the table.",
    horizon=150,
)


class LiftTask(Task):
    """Success: the cube's centre is `lift_height` above where it rested. Stages: reached, grasped, lifted."""

    def build(self):
        h = self.config.cube_half_size
        self.cube = BoxObject("cube", size=(h, h, h), rgba=self.config.cube_rgba)
        return [self.cube]

    def place(self, scene, rng, xy_range, yaw_range):
        xy = scene.sample_xy(rng, self.config.center, xy_range, float(self.cube.horizontal_radius))
        yaw = float(rng.uniform(-yaw_range, yaw_range))
        scene.set_object_pose(self.cube, xy, yaw)
        dx, dy = xy - np.asarray(self.config.center)
        return {"object_pose.dx": float(dx), "object_pose.dy": float(dy), "object_pose.yaw": yaw}

    def evaluate(self, scene):
        pos = scene.object_pos(self.cube)
        rest_z = scene.table_top_z + self.config.cube_half_size
        stages = {
            "reached": bool(np.linalg.norm(scene.eef_pos() - pos) < REACH_DISTANCE),
            "grasped": scene.is_grasped(self.cube),
            "lifted": bool(pos[2] > rest_z + self.config.lift_height),
        }
        return Evaluation(success=stages["lifted"], progress=staged_progress(stages), stages=stages)

    def privileged_state(self, scene):
        return {
            "target_object": "cube",
            "objects": {
                "cube": {
                    "pos": scene.object_pos(self.cube),
                    "yaw": scene.object_yaw(self.cube),
                    "half_width": self.config.cube_half_size,
                    "half_height": self.config.cube_half_size,
                    "symmetry": np.pi
                    / 2,  # a cube looks the same every quarter turn: grasp yaw is taken mod this
                    "grasped": scene.is_grasped(self.cube),
                }
            },
            "lift_height": self.config.lift_height,
        }

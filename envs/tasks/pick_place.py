"""Pick-and-place into a container: cube -> bowl, can -> mug, banana-like fruit -> bin.

Mirrors DreamZero's three simulated DROID scenes. The object and the container start on opposite sides of the
workspace (which side is seeded); success = the object rests inside the container and is no longer held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from robosuite.models.objects import BoxObject, CylinderObject

from envs.objects import Banana, Container
from envs.tasks.base import Evaluation, Task, TaskConfig, staged_progress

REACH_DISTANCE = 0.05  # m, eef to object centre
LIFT_HEIGHT = 0.03  # m above rest that counts as lifted


@dataclass(frozen=True)
class PickPlaceConfig(TaskConfig):
    object_kind: str = "cube"  # key of OBJECTS
    container_kind: str = "bowl"  # key of CONTAINERS
    object_offset: tuple[float, float] = (
        0.0,
        -0.13,
    )  # nominal xy of the object; the container mirrors it in y
    container_offset: tuple[float, float] = (0.0, 0.13)


# name -> (builder, half_width across the grasp, half_height, grasp yaw symmetry, squeeze axis in the body frame)
OBJECTS = {
    "cube": (
        lambda: BoxObject("cube", size=(0.02, 0.02, 0.02), rgba=(0.85, 0.15, 0.15, 1)),
        0.02,
        0.02,
        np.pi / 2,
        0.0,
    ),
    "can": (
        lambda: CylinderObject("can", size=(0.028, 0.045), rgba=(0.75, 0.1, 0.1, 1)),
        0.028,
        0.045,
        np.pi / 2,
        0.0,
    ),
    # The banana's long axis is its body x: squeeze across it, along body y.
    "banana": (lambda: Banana("banana"), 0.017, 0.017, np.pi, np.pi / 2),
}
# name -> builder; Container keeps inner_half_width / height for the success predicate and the expert.
CONTAINERS = {
    "bowl": lambda: Container("bowl", inner_half_width=0.07, height=0.05, rgba=(0.9, 0.9, 0.95, 1), sides=12),
    "mug": lambda: Container(
        "mug", inner_half_width=0.045, height=0.08, rgba=(0.2, 0.45, 0.8, 1), handle=True
    ),
    "bin": lambda: Container("bin", inner_half_width=0.09, height=0.06, rgba=(0.35, 0.3, 0.25, 1), sides=4),
}


def _config(name, obj, container, instruction, paraphrases, description, horizon=240) -> PickPlaceConfig:
    return PickPlaceConfig(
        name=name,
        family="pick_place",
        instruction=instruction,
        paraphrases=paraphrases,
        description=description,
        horizon=horizon,
        object_kind=obj,
        container_kind=container,
    )


PICK_PLACE_CONFIGS = {
    "CubeInBowl": _config(
        "CubeInBowl",
        "cube",
        "bowl",
        "put the cube in the bowl",
        (
            "place the red cube into the bowl",
            "pick up the cube and drop it in the bowl",
            "move the block to the bowl",
        ),
        "Pick a 4 cm red cube and place it inside a white bowl.",
    ),
    "CanInMug": _config(
        "CanInMug",
        "can",
        "mug",
        "pick up the can and put it in the mug",
        ("put the can into the mug", "place the red can inside the blue mug", "move the can into the cup"),
        "Pick a small red can and place it upright inside a blue mug.",
    ),
    "FruitInBin": _config(
        "FruitInBin",
        "banana",
        "bin",
        "put the banana in the bin",
        (
            "place the banana into the bin",
            "pick up the banana and drop it in the bin",
            "move the fruit to the bin",
        ),
        "Pick a banana-like fruit and place it inside a brown bin.",
    ),
}


class PickPlaceTask(Task):
    """Stages: reached, grasped, lifted, placed (= success)."""

    def build(self):
        cfg = self.config
        builder, self.half_width, self.half_height, self.symmetry, self.grasp_axis = OBJECTS[cfg.object_kind]
        self.object = builder()
        self.container = CONTAINERS[cfg.container_kind]()
        return [self.object, self.container]

    def place(self, scene, rng, xy_range, yaw_range):
        cfg = self.config
        swap = bool(rng.random() < 0.5)  # object on the left or on the right
        sign = -1.0 if swap else 1.0
        container_nominal = np.array([cfg.container_offset[0], sign * cfg.container_offset[1]])
        object_nominal = np.array([cfg.object_offset[0], sign * cfg.object_offset[1]])
        c_xy = scene.sample_xy(rng, container_nominal, xy_range, float(self.container.horizontal_radius))
        c_yaw = float(rng.uniform(-yaw_range, yaw_range))
        scene.set_object_pose(self.container, c_xy, c_yaw)
        o_xy = scene.sample_xy(rng, object_nominal, xy_range, float(self.object.horizontal_radius))
        o_yaw = float(rng.uniform(-yaw_range, yaw_range))
        scene.set_object_pose(self.object, o_xy, o_yaw)
        return {
            "object_pose.swap": int(swap),
            "object_pose.dx": float(o_xy[0] - object_nominal[0]),
            "object_pose.dy": float(o_xy[1] - object_nominal[1]),
            "object_pose.yaw": o_yaw,
            "object_pose.container_dx": float(c_xy[0] - container_nominal[0]),
            "object_pose.container_dy": float(c_xy[1] - container_nominal[1]),
            "object_pose.container_yaw": c_yaw,
        }

    def inside(self, scene) -> bool:
        """Object centre within the container's inner footprint and below its rim."""
        obj = scene.object_pos(self.object)
        con = scene.object_pos(self.container)
        yaw = scene.object_yaw(self.container)
        d = obj - con
        local = np.array([np.cos(yaw) * d[0] + np.sin(yaw) * d[1], -np.sin(yaw) * d[0] + np.cos(yaw) * d[1]])
        w = self.container.inner_half_width
        footprint = np.max(np.abs(local)) < w if self.config.container_kind == "bin" else np.hypot(*local) < w
        below_rim = d[2] < self.container.height / 2
        return bool(footprint and below_rim)

    def evaluate(self, scene):
        pos = scene.object_pos(self.object)
        grasped = scene.is_grasped(self.object)
        rest_z = scene.table_top_z + self.half_height
        placed = self.inside(scene) and not grasped
        stages = {
            "reached": bool(np.linalg.norm(scene.eef_pos() - pos) < REACH_DISTANCE),
            "grasped": grasped,
            "lifted": bool(grasped and pos[2] > rest_z + LIFT_HEIGHT),
            "placed": placed,
        }
        return Evaluation(success=placed, progress=staged_progress(stages), stages=stages)

    def privileged_state(self, scene):
        return {
            "target_object": self.config.object_kind,
            "target_container": self.config.container_kind,
            "objects": {
                self.config.object_kind: {
                    "pos": scene.object_pos(self.object),
                    "yaw": scene.object_yaw(self.object),
                    "half_width": self.half_width,
                    "half_height": self.half_height,
                    "symmetry": self.symmetry,
                    "grasp_axis": self.grasp_axis,
                    "grasped": scene.is_grasped(self.object),
                },
                self.config.container_kind: {
                    "pos": scene.object_pos(self.container),
                    "yaw": scene.object_yaw(self.container),
                    "inner_half_width": self.container.inner_half_width,
                    "height": self.container.height,
                },
            },
        }

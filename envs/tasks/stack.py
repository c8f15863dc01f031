"""StackCubes: pick up the small red cube and set it down on top of the larger green cube.

The cubes start on opposite sides of the workspace (which side is seeded). Success mirrors robosuite's Stack: the
red cube rests on the green one, centred within a tolerance, and the gripper has let go of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from robosuite.models.objects import BoxObject

from envs.tasks.base import Evaluation, Task, TaskConfig, staged_progress

REACH_DISTANCE = 0.05  # m, eef to top-cube centre
LIFT_HEIGHT = 0.03  # m above rest that counts as lifted
ALIGN_DISTANCE = 0.03  # m, horizontal distance between cube centres that counts as aligned
STACK_XY_TOLERANCE = 0.02  # m, horizontal distance between cube centres for a stack
STACK_Z_TOLERANCE = 0.006  # m, |top-cube bottom - base-cube top| for a stack (resting, not hovering)


@dataclass(frozen=True)
class StackConfig(TaskConfig):
    top_half_size: float = 0.02
    base_half_size: float = 0.025
    top_rgba: tuple[float, float, float, float] = (0.85, 0.15, 0.15, 1.0)
    base_rgba: tuple[float, float, float, float] = (0.15, 0.7, 0.2, 1.0)
    top_offset: tuple[float, float] = (
        0.0,
        -0.12,
    )  # nominal xy of the red cube; the green one mirrors it in y
    base_offset: tuple[float, float] = (0.0, 0.12)


STACK_CONFIG = StackConfig(
    name="StackCubes",
    family="stack",
    instruction="stack the red cube on top of the green cube",
    paraphrases=(
        "put the red block on the green block",
        "place the small red cube onto the big green cube",
        "pick up the red cube and stack it on the green one",
    ),
    description="Pick a 4 cm red cube and leave it resting centred on a 5 cm green cube.",
    horizon=200,
    xy_range=0.06,
)


class StackTask(Task):
    """Stages: reached, grasped, lifted, aligned (red above green), stacked (resting on it, released)."""

    def build(self):
        c = self.config
        self.top = BoxObject("cube_top", size=(c.top_half_size,) * 3, rgba=c.top_rgba)
        self.base = BoxObject("cube_base", size=(c.base_half_size,) * 3, rgba=c.base_rgba)
        return [self.top, self.base]

    def place(self, scene, rng, xy_range, yaw_range):
        c = self.config
        flip = 1.0 if rng.uniform() < 0.5 else -1.0  # which side the red cube starts on
        out = {"object_pose.flip": int(flip)}
        for key, obj, nominal in (("top", self.top, c.top_offset), ("base", self.base, c.base_offset)):
            center = np.array([nominal[0], flip * nominal[1]])
            xy = scene.sample_xy(rng, center, xy_range, float(obj.horizontal_radius))
            yaw = float(rng.uniform(-yaw_range, yaw_range))
            scene.set_object_pose(obj, xy, yaw)
            out[f"object_pose.{key}_dx"], out[f"object_pose.{key}_dy"] = (float(v) for v in xy - center)
            out[f"object_pose.{key}_yaw"] = yaw
        return out

    def evaluate(self, scene):
        c = self.config
        top, base = scene.object_pos(self.top), scene.object_pos(self.base)
        grasped = scene.is_grasped(self.top)
        horizontal = float(np.linalg.norm(top[:2] - base[:2]))
        gap = (top[2] - c.top_half_size) - (base[2] + c.base_half_size)  # red bottom above green top
        stages = {
            "reached": bool(np.linalg.norm(scene.eef_pos() - top) < REACH_DISTANCE),
            "grasped": grasped,
            "lifted": bool(top[2] > scene.table_top_z + c.top_half_size + LIFT_HEIGHT),
            "aligned": bool(horizontal < ALIGN_DISTANCE and gap > -STACK_Z_TOLERANCE),
            "stacked": bool(
                horizontal < STACK_XY_TOLERANCE
                and abs(gap) < STACK_Z_TOLERANCE
                and not grasped
                and scene.in_contact(self.top, self.base)
            ),
        }
        return Evaluation(success=stages["stacked"], progress=staged_progress(stages), stages=stages)

    def privileged_state(self, scene):
        c = self.config
        return {
            "target_object": "cube_top",
            "objects": {
                "cube_top": {
                    "pos": scene.object_pos(self.top),
                    "yaw": scene.object_yaw(self.top),
                    "half_width": c.top_half_size,
                    "half_height": c.top_half_size,
                    "symmetry": np.pi / 2,  # a cube looks the same every quarter turn
                },
                "cube_base": {
                    "pos": scene.object_pos(self.base),
                    "yaw": scene.object_yaw(self.base),
                    "half_width": c.base_half_size,
                    "half_height": c.base_half_size,
                    "symmetry": np.pi / 2,
                },
            },
        }

"""OpenDrawerPlaceCube: a two-stage task — open the drawer, then put the red cube into it.

Reuses `Cabinet` from the drawer task. The cube starts beside the cabinet, clear of the drawer's pull path, so the
stages can only be done in order: the cube fits only into the opened part of the tray.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from robosuite.models.objects import BoxObject

from envs.tasks.base import Evaluation, Task, TaskConfig, staged_progress
from envs.tasks.drawer import REACH_DISTANCE, Cabinet, cabinet_state, place_cabinet

LIFT_HEIGHT = 0.03  # m above rest that counts as lifted


@dataclass(frozen=True)
class DrawerCubeConfig(TaskConfig):
    cabinet_center: tuple[float, float] = (0.17, -0.11)  # nominal xy of the cabinet centre
    cube_center: tuple[float, float] = (-0.05, 0.17)  # nominal xy of the cube, beside the cabinet
    cube_half_size: float = 0.02
    cube_rgba: tuple[float, float, float, float] = (0.85, 0.15, 0.15, 1.0)
    open_distance: float = 0.12  # m of drawer travel that counts as open (and leaves room for the cube)


DRAWER_CUBE_CONFIG = DrawerCubeConfig(
    name="OpenDrawerPlaceCube",
    family="drawer_cube",
    instruction="open the drawer and put the red cube in it",
    paraphrases=(
        "pull the drawer open, then place the red cube inside",
        "open the drawer and drop the red block into it",
        "first open the cabinet drawer, then put the cube in the drawer",
    ),
    description="Two stages: open a drawer by at least 12 cm, then put a 4 cm cube into the opened tray.",
    horizon=400,
    xy_range=0.03,
    yaw_range=0.1,
)


class DrawerCubeTask(Task):
    """Stages: drawer reached, drawer open | cube grasped, cube above the tray, cube in the tray (success).

    Progress is 0.4 once the drawer is open (stage one) and rises to 1.0 as the cube goes in (stage two).
    Success also needs the drawer to still be open and the cube released.
    """

    def build(self):
        c = self.config
        self.cabinet = Cabinet("cabinet")
        self.cube = BoxObject("cube", size=(c.cube_half_size,) * 3, rgba=c.cube_rgba)
        return [self.cabinet, self.cube]

    def place(self, scene, rng, xy_range, yaw_range):
        c = self.config
        center = np.asarray(c.cabinet_center, float)
        xy = center + rng.uniform(-xy_range, xy_range, size=2)
        yaw = float(rng.uniform(-yaw_range, yaw_range))
        place_cabinet(scene, self.cabinet, xy, yaw)
        cube_center = np.asarray(c.cube_center, float)
        cube_xy = cube_center + rng.uniform(-xy_range, xy_range, size=2)
        cube_yaw = float(rng.uniform(-np.pi / 4, np.pi / 4) if yaw_range > 0 else 0.0)
        scene.set_object_pose(self.cube, cube_xy, cube_yaw)
        (dx, dy), (cdx, cdy) = xy - center, cube_xy - cube_center
        return {
            "object_pose.cabinet_dx": float(dx),
            "object_pose.cabinet_dy": float(dy),
            "object_pose.cabinet_yaw": yaw,
            "object_pose.cube_dx": float(cdx),
            "object_pose.cube_dy": float(cdy),
            "object_pose.cube_yaw": cube_yaw,
        }

    def cube_in_tray(self, scene, drawer: dict) -> tuple[bool, bool]:
        """(above, inside): the cube is over the tray's opening / resting on the tray floor between its walls."""
        cube = scene.object_pos(self.cube)
        local = drawer["cabinet_mat"].T @ (cube - drawer["tray_pos"])
        dx, dy, dz = drawer["tray_half_size"]
        wall = 0.016  # tray wall thickness
        within = abs(local[0]) < dx - self.config.cube_half_size and abs(local[1]) < dy - wall
        floor = -dz + wall + self.config.cube_half_size  # cube centre height resting on the floor
        return bool(within and local[2] > dz), bool(within and local[2] < floor + 0.01)

    def evaluate(self, scene):
        c = self.config
        drawer = cabinet_state(scene, self.cabinet)
        cube = scene.object_pos(self.cube)
        above, inside = self.cube_in_tray(scene, drawer)
        is_open = drawer["opening"] >= c.open_distance
        grasped = scene.is_grasped(self.cube)
        stages = {
            "drawer_reached": bool(np.linalg.norm(scene.eef_pos() - drawer["handle_pos"]) < REACH_DISTANCE),
            "drawer_open": bool(is_open),
            "cube_grasped": bool(grasped and cube[2] > scene.table_top_z + c.cube_half_size + LIFT_HEIGHT),
            "cube_above_drawer": bool(above),
            "cube_in_drawer": bool(inside and not grasped and drawer["opening"] >= c.open_distance - 0.02),
        }
        return Evaluation(success=stages["cube_in_drawer"], progress=staged_progress(stages), stages=stages)

    def privileged_state(self, scene):
        c = self.config
        return {
            "target_object": "cube",
            "objects": {
                "cube": {
                    "pos": scene.object_pos(self.cube),
                    "yaw": scene.object_yaw(self.cube),
                    "half_width": c.cube_half_size,
                    "half_height": c.cube_half_size,
                    "symmetry": np.pi / 2,
                }
            },
            "drawer": cabinet_state(scene, self.cabinet),
            "open_distance": c.open_distance,
        }

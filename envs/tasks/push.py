"""PushToTarget: push a puck across the table into a marked (green, visual-only) target disk.

The puck is too wide to matter how it is pushed (a cylinder has no preferred yaw); the target is sampled at a
seeded distance and direction from the puck, always inside the reachable part of the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from robosuite.models.objects import CylinderObject

from envs.tasks.base import Evaluation, Task, TaskConfig, staged_progress

REACH_DISTANCE = 0.06  # m, eef to puck centre
SUCCESS_DISTANCE = 0.03  # m, puck centre to target centre (the drawn disk has a 5 cm radius)


@dataclass(frozen=True)
class PushConfig(TaskConfig):
    puck_radius: float = 0.03
    puck_half_height: float = 0.02
    puck_rgba: tuple[float, float, float, float] = (0.15, 0.3, 0.9, 1.0)
    target_radius: float = 0.05
    target_rgba: tuple[float, float, float, float] = (0.1, 0.85, 0.1, 0.7)
    center: tuple[float, float] = (0.0, 0.0)  # nominal xy of the puck
    distance: tuple[float, float] = (0.12, 0.18)  # m, range of the puck-to-target distance
    target_bounds: tuple[float, float] = (0.15, 0.2)  # |x|, |y| the target centre must stay within


PUSH_CONFIG = PushConfig(
    name="PushToTarget",
    family="push",
    instruction="push the blue puck onto the green target",
    paraphrases=(
        "slide the blue puck into the green circle",
        "move the puck to the green mark by pushing it",
        "push the blue disk until it sits on the green target",
    ),
    description="Push a 6 cm puck 12-18 cm across the table until its centre is within 3 cm of a marked target.",
    horizon=200,
    xy_range=0.06,
)


class PushTask(Task):
    """Stages: reached, moved (a quarter of the way), halfway, on_target (success)."""

    def build(self):
        c = self.config
        self.puck = CylinderObject(
            "puck", size=(c.puck_radius, c.puck_half_height), rgba=c.puck_rgba, friction=(0.6, 0.005, 0.0001)
        )
        # Visual only and without a joint: a marking on the table that nothing collides with.
        self.target = CylinderObject(
            "target", size=(c.target_radius, 0.0005), rgba=c.target_rgba, obj_type="visual", joints=None
        )
        self.start_distance = 1.0
        return [self.puck, self.target]

    def place(self, scene, rng, xy_range, yaw_range):
        c = self.config
        center = np.asarray(c.center, float)
        xy = scene.sample_xy(rng, center, xy_range, c.puck_radius)
        yaw = float(rng.uniform(-yaw_range, yaw_range))
        scene.set_object_pose(self.puck, xy, yaw)
        # Rejection-sample a direction keeping the target on the table; the fallback (towards the centre) is
        # always valid, so every seed has a layout.
        bx, by = c.target_bounds
        for _ in range(100):
            angle = float(rng.uniform(-np.pi, np.pi))
            dist = float(rng.uniform(*c.distance))
            goal = xy + dist * np.array([np.cos(angle), np.sin(angle)])
            if abs(goal[0]) <= bx and abs(goal[1]) <= by:
                break
        else:
            goal = xy - c.distance[0] * xy / max(np.linalg.norm(xy), 1e-6)
        scene.sim.model.body_pos[scene.body_id(self.target)] = (goal[0], goal[1], scene.table_top_z + 0.0006)
        self.start_distance = float(np.linalg.norm(goal - xy))
        # Keep distractors (placed after us) off the target and off the middle of the push path.
        scene._occupied.append((float(goal[0]), float(goal[1]), c.target_radius))
        mid = (xy + goal) / 2
        scene._occupied.append((float(mid[0]), float(mid[1]), c.puck_radius))
        dx, dy = xy - center
        return {
            "object_pose.dx": float(dx),
            "object_pose.dy": float(dy),
            "object_pose.yaw": yaw,
            "object_pose.target_x": float(goal[0]),
            "object_pose.target_y": float(goal[1]),
        }

    def _distance(self, scene) -> float:
        puck = scene.object_pos(self.puck)
        target = scene.sim.model.body_pos[scene.body_id(self.target)]
        return float(np.linalg.norm(puck[:2] - target[:2]))

    def evaluate(self, scene):
        c = self.config
        puck = scene.object_pos(self.puck)
        dist = self._distance(scene)
        on_table = puck[2] < scene.table_top_z + c.puck_half_height + 0.01
        stages = {
            "reached": bool(np.linalg.norm(scene.eef_pos() - puck) < REACH_DISTANCE),
            "moved": bool(dist < 0.75 * self.start_distance),
            "halfway": bool(dist < 0.5 * self.start_distance),
            "on_target": bool(dist < SUCCESS_DISTANCE and on_table),
        }
        return Evaluation(success=stages["on_target"], progress=staged_progress(stages), stages=stages)

    def privileged_state(self, scene):
        c = self.config
        return {
            "target_object": "puck",
            "objects": {
                "puck": {
                    "pos": scene.object_pos(self.puck),
                    "yaw": scene.object_yaw(self.puck),
                    "half_width": c.puck_radius,
                    "half_height": c.puck_half_height,
                    "symmetry": 0.0,  # round: any yaw
                }
            },
            "target_pos": scene.sim.model.body_pos[scene.body_id(self.target)].copy(),
            "target_radius": c.target_radius,
        }

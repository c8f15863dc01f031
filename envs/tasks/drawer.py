"""OpenDrawer: pull a drawer out of a cabinet by its handle.

The cabinet is built from MuJoCo boxes and is fixed to the table (no free joint); its tray slides out along the
cabinet's -x axis (towards the robot) on a slide joint. `Cabinet` is shared with the long-horizon task.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from robosuite.models.objects import CompositeBodyObject, CompositeObject
from robosuite.utils.mjcf_utils import find_elements

from envs.tasks.base import Evaluation, Task, TaskConfig, staged_progress

PANEL = 0.008  # half thickness of every panel
WOOD = (0.55, 0.38, 0.22, 1.0)
DARK = (0.3, 0.2, 0.12, 1.0)
REACH_DISTANCE = 0.05  # m, eef to handle centre


class Cabinet(CompositeBodyObject):
    """A box cabinet open at its -x face with a sliding tray (open top) and a bar handle standing off its front.

    Half sizes (hx, hy, hz) are the cabinet's outer extents; the body origin is the cabinet's centre. The tray
    front sits flush with the cabinet front when closed (joint at 0); it opens up to `travel` metres.
    """

    def __init__(self, name: str, half_size=(0.11, 0.13, 0.07), handle_standoff=0.07, travel=0.2):
        hx, hy, hz = half_size
        t = PANEL
        self.half_size = np.asarray(half_size, float)
        self.travel = travel
        self.handle_standoff = handle_standoff
        panels = {
            "top": ((0, 0, hz - t), (hx, hy, t)),
            "bottom": ((0, 0, -hz + t), (hx, hy, t)),
            "left": ((0, -hy + t, 0), (hx, t, hz)),
            "right": ((0, hy - t, 0), (hx, t, hz)),
            "back": ((hx - t, 0, 0), (t, hy, hz)),
        }
        shell = _boxes("shell", (hx, hy, hz), panels, {k: WOOD for k in panels}, density=1000)
        # Tray: fits inside the shell with 2 mm of clearance sideways and 1 mm above the bottom panel.
        dx, dy, dz = hx - 2 * t, hy - 2 * t - 0.002, 0.75 * (hz - 2 * t)
        self.tray_half_size = np.array([dx, dy, dz])
        hs = handle_standoff
        front = -dx - 2 * t  # x of the front face of the tray's front plate (the handle side)
        parts = {
            "floor": ((0, 0, -dz + t), (dx, dy, t)),
            "front": ((-dx - t, 0, 0), (t, dy, dz)),
            "back": ((dx - t, 0, 0), (t, dy, dz)),
            "left": ((0, -dy + t, 0), (dx, t, dz)),
            "right": ((0, dy - t, 0), (dx, t, dz)),
            "post0": ((front - hs / 2, -0.06, 0), (hs / 2, 0.006, 0.006)),
            "post1": ((front - hs / 2, 0.06, 0), (hs / 2, 0.006, 0.006)),
            "handle": ((front - hs, 0, 0), (0.008, 0.07, 0.008)),
        }
        colours = {k: DARK if k.startswith(("post", "handle")) else WOOD for k in parts}
        tray = _boxes("tray", (dx + hs + 2 * t, dy, dz), parts, colours, density=300)
        self.tray_offset = np.array([0.0, 0.0, -hz + 2 * t + dz + 0.001])  # tray centre in the cabinet frame
        self.handle_offset = self.tray_offset + np.array([front - hs, 0.0, 0.0])  # handle centre, closed
        slide = {
            "name": "slide",
            "type": "slide",
            "axis": "-1 0 0",
            "limited": "true",
            "range": f"0 {travel}",
            "damping": "10",
            "frictionloss": "0.5",
            "armature": "0.01",
        }
        super().__init__(
            name=name,
            objects=[shell, tray],
            object_locations=[(0, 0, 0), tuple(self.tray_offset)],
            object_parents=[None, shell.root_body],
            joints=None,  # fixed to the world; tasks move it with model.body_pos
            body_joints={tray.root_body: [slide]},
        )
        self.tray_body = self.naming_prefix + tray.root_body
        self.slide_joint = self.naming_prefix + "slide"
        # The tray floats on its slide (gravity compensated) so only the joint's damping and friction resist
        # opening, independent of contact friction against the shell.
        body = find_elements(self._obj, tags="body", attribs={"name": self.tray_body}, return_first=True)
        body.set("gravcomp", "1")


def _boxes(name, total_half, parts: dict, colours: dict, density: float) -> CompositeObject:
    return CompositeObject(
        name=name,
        total_size=total_half,
        geom_types=["box"] * len(parts),
        geom_locations=[p[0] for p in parts.values()],
        geom_sizes=[p[1] for p in parts.values()],
        geom_names=list(parts),
        geom_rgbas=[colours[k] for k in parts],
        locations_relative_to_center=True,
        joints=None,
        density=density,
    )


def place_cabinet(scene, cabinet: Cabinet, xy, yaw: float) -> None:
    """Move the fixed cabinet (model.body_pos/quat), close its drawer, and reserve its footprint and pull path."""
    bid = scene.body_id(cabinet)
    scene.sim.model.body_pos[bid] = (xy[0], xy[1], scene.table_top_z + cabinet.half_size[2])
    scene.sim.model.body_quat[bid] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
    scene.sim.data.set_joint_qpos(cabinet.slide_joint, 0.0)
    hx, hy = cabinet.half_size[:2]
    forward = np.array([-np.cos(yaw), -np.sin(yaw)])  # direction the drawer opens (towards the robot)
    radius = float(np.hypot(hx, hy))
    # Distractors placed after us must stay off the cabinet and out of the drawer's way.
    scene._occupied.append((float(xy[0]), float(xy[1]), radius))
    front = np.asarray(xy) + forward * (hx + cabinet.travel / 2 + cabinet.handle_standoff / 2)
    scene._occupied.append((float(front[0]), float(front[1]), float(hy)))


def cabinet_state(scene, cabinet: Cabinet) -> dict:
    """Privileged drawer state: opening (m), handle centre, pull direction, tray pose and extents."""
    model, data = scene.sim.model, scene.sim.data
    bid = scene.body_id(cabinet)
    mat = data.body_xmat[bid].reshape(3, 3)
    tray_id = model.body_name2id(cabinet.tray_body)
    opening = float(data.get_joint_qpos(cabinet.slide_joint))
    handle_local = cabinet.handle_offset - np.array([opening, 0.0, 0.0])
    return {
        "opening": opening,
        "travel": cabinet.travel,
        "handle_pos": data.body_xpos[bid] + mat @ handle_local,
        "handle_standoff": cabinet.handle_standoff,
        "pull_dir": -mat[:, 0].copy(),
        "cabinet_pos": data.body_xpos[bid].copy(),
        "cabinet_mat": mat.copy(),
        "cabinet_half_size": cabinet.half_size.copy(),
        "tray_pos": data.body_xpos[tray_id].copy(),
        "tray_half_size": cabinet.tray_half_size.copy(),
    }


@dataclass(frozen=True)
class DrawerConfig(TaskConfig):
    # Far enough out that the pulled-out handle stays reachable low over the table (IIWA hits its elbow limit
    # at x < -0.14 there).
    center: tuple[float, float] = (0.17, 0.0)  # nominal xy of the cabinet centre
    open_distance: float = 0.12  # m of travel (of 0.2) that counts as open


DRAWER_CONFIG = DrawerConfig(
    name="OpenDrawer",
    family="drawer",
    instruction="open the drawer",
    paraphrases=(
        "pull the drawer open",
        "open the cabinet drawer by its handle",
        "slide the drawer out towards you",
    ),
    description="Pull a cabinet drawer out by at least 12 cm (of 20 cm travel) using its bar handle.",
    horizon=150,
    xy_range=0.03,
    yaw_range=0.15,
)


class DrawerTask(Task):
    """Stages: reached (the handle), started (2 cm), half (half of the opening distance), open (success)."""

    def build(self):
        self.cabinet = Cabinet("cabinet")
        return [self.cabinet]

    def place(self, scene, rng, xy_range, yaw_range):
        center = np.asarray(self.config.center, float)
        xy = center + rng.uniform(-xy_range, xy_range, size=2)
        yaw = float(rng.uniform(-yaw_range, yaw_range))
        place_cabinet(scene, self.cabinet, xy, yaw)
        dx, dy = xy - center
        return {"object_pose.dx": float(dx), "object_pose.dy": float(dy), "object_pose.yaw": yaw}

    def evaluate(self, scene):
        state = cabinet_state(scene, self.cabinet)
        opening, goal = state["opening"], self.config.open_distance
        stages = {
            "reached": bool(np.linalg.norm(scene.eef_pos() - state["handle_pos"]) < REACH_DISTANCE),
            "started": bool(opening > 0.02),
            "half": bool(opening > goal / 2),
            "open": bool(opening >= goal),
        }
        return Evaluation(success=stages["open"], progress=staged_progress(stages), stages=stages)

    def privileged_state(self, scene):
        return {"drawer": cabinet_state(scene, self.cabinet), "open_distance": self.config.open_distance}

"""The robosuite side of every task: a table scene with one arm, the task's objects, distractors and DROID cameras.

`SceneEnv` is a robosuite `ManipulationEnv` whose objects come from a `Task`. It also offers the helpers tasks and
experts use (object poses, placement sampling, grasp checks). robosuite's own observables are disabled: the
Gymnasium env assembles the DROID observation itself (cheaper, and images are rendered only when asked for).
"""

from __future__ import annotations

import mujoco
import numpy as np
from robosuite.environments.manipulation.manipulation_env import ManipulationEnv
from robosuite.models.arenas import TableArena
from robosuite.models.tasks import ManipulationTask

from envs.cameras import add_exterior_cameras
from envs.objects import make_distractors

TABLE_SIZE = (0.8, 0.8, 0.05)
TABLE_OFFSET = (0.0, 0.0, 0.8)
TABLE_GEOM = "table_visual"


class SceneEnv(ManipulationEnv):
    """robosuite environment built from a Task (objects) and an embodiment/controller config."""

    def __init__(
        self, task, robot: str, gripper: str, controller_config: dict, distractors: int, control_freq: int
    ):
        self.task = task
        self.n_distractors = distractors
        self.table_top_z = TABLE_OFFSET[2]
        self._occupied: list[tuple[float, float, float]] = []
        self._body_ids: dict[str, int] = {}
        self._geom_masks: dict[tuple, np.ndarray] = {}
        self._grip: tuple | None = None  # cached gripper joint indexes / open pose / span
        self._pad_masks: tuple | None = None  # cached geom masks of the two finger pads
        super().__init__(
            robots=robot,
            gripper_types=gripper,
            controller_configs=controller_config,
            initialization_noise=None,
            use_camera_obs=False,
            has_renderer=False,
            has_offscreen_renderer=False,
            control_freq=control_freq,
            lite_physics=True,
            horizon=10**9,
            ignore_done=True,  # the Gymnasium env owns the horizon
            hard_reset=False,  # model structure is fixed per env; resets only reset the sim state
            renderer="mujoco",
        )

    # ----- robosuite hooks -------------------------------------------------------------------------------------
    def _load_model(self):
        super()._load_model()
        robot_model = self.robots[0].robot_model
        robot_model.set_base_xpos(robot_model.base_xpos_offset["table"](TABLE_SIZE[0]))
        arena = TableArena(table_full_size=TABLE_SIZE, table_offset=TABLE_OFFSET)
        arena.set_origin([0, 0, 0])
        add_exterior_cameras(arena)
        self.task_objects = self.task.build()
        self.distractors = make_distractors(self.n_distractors)
        self.model = ManipulationTask(
            mujoco_arena=arena,
            mujoco_robots=[robot_model],
            mujoco_objects=[*self.task_objects, *self.distractors],
        )

    def _setup_observables(self):
        return {}

    def reward(self, action=None):
        return 0.0

    # ----- state access ----------------------------------------------------------------------------------------
    @property
    def robot(self):
        return self.robots[0]

    @property
    def gripper_model(self):
        return self.robot.gripper["right"]

    def body_id(self, obj) -> int:
        name = obj.root_body
        if name not in self._body_ids:
            self._body_ids[name] = self.sim.model.body_name2id(name)
        return self._body_ids[name]

    # Per-step accessors read mujoco's MjData directly: robosuite's binding wrappers cost more per call than
    # the reads themselves, and they run several times every control step (see envs.bench).
    def object_pos(self, obj) -> np.ndarray:
        return self.sim.data._data.xpos[self.body_id(obj)].copy()

    def object_quat(self, obj) -> np.ndarray:
        """wxyz quaternion of the object's body."""
        return self.sim.data._data.xquat[self.body_id(obj)].copy()

    def object_yaw(self, obj) -> float:
        w, x, y, z = self.object_quat(obj)
        return float(np.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z)))

    def eef_pos(self) -> np.ndarray:
        return self.sim.data._data.site_xpos[self.robot.eef_site_id["right"]].copy()

    def eef_mat(self) -> np.ndarray:
        return self.sim.data._data.site_xmat[self.robot.eef_site_id["right"]].reshape(3, 3).copy()

    def arm_qpos(self) -> np.ndarray:
        return self.sim.data._data.qpos[self.robot._ref_joint_pos_indexes]  # index list: a copy

    def gripper_closure(self) -> float:
        """Gripper closure in [0, 1] (0 open, 1 closed), averaged over the gripper's joints.

        Open is the gripper's initial (open) configuration; closed is the joint-range end farthest from it.
        """
        if self._grip is None:
            model = self.sim.model._model
            q_open = np.asarray(self.gripper_model.init_qpos, float)
            ranges = np.array([model.jnt_range[model.joint(n).id] for n in self.gripper_model.joints])
            q_closed = np.where(
                np.abs(ranges[:, 0] - q_open) > np.abs(ranges[:, 1] - q_open), ranges[:, 0], ranges[:, 1]
            )
            span = q_closed - q_open
            safe = np.where(span == 0, 1.0, span)
            valid = span != 0
            self._grip = (
                np.asarray(self.robot._ref_gripper_joint_pos_indexes["right"]),
                q_open,
                safe,
                None if valid.all() else valid,  # None: every joint moves (skip the masking per step)
            )
        idx, q_open, span, valid = self._grip
        frac = (self.sim.data._data.qpos[idx] - q_open) / span
        if valid is not None:
            frac = np.where(valid, frac, 0.0)
        return min(max(float(frac.mean()), 0.0), 1.0)

    def geom_mask(self, thing) -> np.ndarray:
        """Boolean mask over all geoms marking an object's contact geoms (or a list of geom names), cached."""
        if hasattr(thing, "contact_geoms"):  # objects live as long as the env: key by identity, as names are
            key: tuple = ("object", id(thing))  # rebuilt by robosuite on every contact_geoms access
            if key not in self._geom_masks:
                self._geom_masks[key] = self.geom_mask(thing.contact_geoms)
            return self._geom_masks[key]
        names = tuple(thing)
        if names not in self._geom_masks:
            mask = np.zeros(self.sim.model._model.ngeom, dtype=bool)
            mask[[self.sim.model.geom_name2id(n) for n in names]] = True
            self._geom_masks[names] = mask
        return self._geom_masks[names]

    def _touching(self, mask_a: np.ndarray, mask_b: np.ndarray) -> bool:
        # Vectorised over the active contacts; robosuite's name-based check_contact is far slower per step.
        data = self.sim.data._data
        n = data.ncon
        if n == 0:
            return False
        contact = data.contact  # a new wrapper object per access: take it once
        g1, g2 = contact.geom1[:n], contact.geom2[:n]
        return bool(((mask_a[g1] & mask_b[g2]) | (mask_b[g1] & mask_a[g2])).any())

    def is_grasped(self, obj) -> bool:
        """Both finger pads touch the object (robosuite's grasp definition)."""
        if self._pad_masks is None:
            pads = self.gripper_model.important_geoms
            self._pad_masks = (
                self.geom_mask(pads["left_fingerpad"]),
                self.geom_mask(pads["right_fingerpad"]),
            )
        mask = self.geom_mask(obj)
        left, right = self._pad_masks
        return self._touching(left, mask) and self._touching(right, mask)

    def in_contact(self, obj_a, obj_b) -> bool:
        """Any contact between the two objects' (or geom-name lists') geoms."""
        return self._touching(self.geom_mask(obj_a), self.geom_mask(obj_b))

    # ----- placement -------------------------------------------------------------------------------------------
    def clear_placements(self) -> None:
        self._occupied = []

    def sample_xy(self, rng, center, half_width: float, radius: float, tries: int = 200) -> np.ndarray:
        """Uniform xy in a square around `center` not overlapping earlier placements (circles of `radius`).

        Falls back to the least-overlapping candidate, so a layout always exists and stays seed-deterministic.
        """
        center = np.asarray(center, float)
        best, best_gap = center.copy(), -np.inf
        for _ in range(tries):
            xy = center + rng.uniform(-half_width, half_width, size=2)
            gap = min(
                (np.hypot(*(xy - (ox, oy))) - radius - r for ox, oy, r in self._occupied), default=np.inf
            )
            if gap >= 0.01:
                return xy
            if gap > best_gap:
                best, best_gap = xy, gap
        return best

    def set_object_pose(
        self, obj, xy, yaw: float, z: float | None = None, radius: float | None = None
    ) -> None:
        """Put `obj` (free joint) at `xy` with yaw about z, resting on the table unless `z` is given."""
        if z is None:
            z = self.table_top_z - float(obj.bottom_offset[2]) + 0.001
        quat = np.array([np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2)])
        self.sim.data.set_joint_qpos(obj.joints[0], np.concatenate([[xy[0], xy[1], z], quat]))
        r = float(obj.horizontal_radius) if radius is None else radius
        self._occupied.append((float(xy[0]), float(xy[1]), r))

    def place_distractors(self, rng) -> dict:
        """Scatter the distractors over the table around the task objects; returns their flat sampled values."""
        out: dict = {"distractors.count": len(self.distractors)}
        for i, obj in enumerate(self.distractors):
            xy = self.sample_xy(rng, (0.0, 0.0), 0.28, float(obj.horizontal_radius))
            yaw = float(rng.uniform(-np.pi, np.pi))
            self.set_object_pose(obj, xy, yaw)
            out[f"distractors.d{i}_x"], out[f"distractors.d{i}_y"] = float(xy[0]), float(xy[1])
        return out

    def forward(self) -> None:
        mujoco.mj_forward(self.sim.model._model, self.sim.data._data)

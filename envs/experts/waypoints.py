"""Generic privileged-state waypoint engine shared by every scripted expert.

A `WaypointExpert` walks a list of `Waypoint`s (end-effector position + gripper yaw + gripper command), each
target computed from `env.sim_state()` on every step. The end-effector command is turned into joint targets by a
damped-least-squares IK on the MuJoCo model's site Jacobian (on a scratch `MjData`, so the simulation is never
touched), then expressed in the env's action space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mujoco
import numpy as np

from envs.action_spaces import CARTESIAN_STEP

MAX_CART_STEP = 0.035  # m per control step (~0.5 m/s at 15 Hz): keeps IK targets close and motion smooth
MAX_YAW_STEP = 0.25  # rad per control step


def yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def wrap_angle(angle: float, period: float) -> float:
    """Angle modulo `period`, mapped into [-period/2, period/2)."""
    return float((angle + period / 2) % period - period / 2)


def rotation_error(target: np.ndarray, current: np.ndarray) -> np.ndarray:
    """World-frame axis-angle vector rotating `current` onto `target` (both 3x3)."""
    quat_err = np.zeros(4)
    mujoco.mju_mat2Quat(quat_err, (target @ current.T).reshape(-1))
    vel = np.zeros(3)
    mujoco.mju_quat2Vel(vel, quat_err, 1.0)
    return vel


class ArmIK:
    """Damped-least-squares IK for the arm's end-effector site on a scratch copy of the state."""

    def __init__(self, scene, damping: float = 0.05, iterations: int = 6):
        self.model = scene.sim.model._model
        self.sim_data = scene.sim.data._data
        self.scratch = mujoco.MjData(self.model)
        robot = scene.robot
        self.site = robot.eef_site_id["right"]
        self.qpos_idx = np.asarray(robot._ref_joint_pos_indexes)
        self.dof_idx = np.asarray(robot._ref_joint_vel_indexes)
        jids = [self.model.joint(n).id for n in robot.robot_model.joints]
        limited = self.model.jnt_limited[jids].astype(bool)
        self.lo = np.where(limited, self.model.jnt_range[jids, 0], -np.inf)
        self.hi = np.where(limited, self.model.jnt_range[jids, 1], np.inf)
        self.damping = damping
        self.iterations = iterations
        self._jacp = np.zeros((3, self.model.nv))
        self._jacr = np.zeros((3, self.model.nv))

    def solve(self, target_pos: np.ndarray, target_mat: np.ndarray) -> np.ndarray:
        """Joint positions (arm) that bring the site to the target pose, starting from the current sim state."""
        d = self.scratch
        d.qpos[:] = self.sim_data.qpos
        q = d.qpos[self.qpos_idx].copy()
        lam2 = self.damping**2
        for _ in range(self.iterations):
            mujoco.mj_kinematics(self.model, d)
            mujoco.mj_comPos(self.model, d)
            pos = d.site_xpos[self.site]
            mat = d.site_xmat[self.site].reshape(3, 3)
            err = np.concatenate([target_pos - pos, rotation_error(target_mat, mat)])
            mujoco.mj_jacSite(self.model, d, self._jacp, self._jacr, self.site)
            jac = np.vstack([self._jacp[:, self.dof_idx], self._jacr[:, self.dof_idx]])
            dq = jac.T @ np.linalg.solve(jac @ jac.T + lam2 * np.eye(6), err)
            q = np.clip(q + dq, self.lo, self.hi)
            d.qpos[self.qpos_idx] = q
        return q


@dataclass(frozen=True)
class Waypoint:
    """Go to `target(state) -> (pos, finger_axis_yaw)` with the gripper at `gripper` (0 open, 1 closed).

    A yaw of None keeps the current gripper yaw (e.g. while carrying a grasped object).

    Reached when within `tol` metres; then held for `hold` steps. Skipped after `max_steps` regardless, so an expert
    never stalls forever.
    """

    name: str
    target: Callable[[dict], tuple[np.ndarray, float | None]]
    gripper: float
    tol: float = 0.015
    hold: int = 0
    max_steps: int = 80
    # Checked when the waypoint ends; if it fails the plan jumps back to waypoint `retry_to` (e.g. a missed grasp).
    require: Callable[[dict], bool] | None = None
    retry_to: int = 0


def finger_axis_yaw(scene) -> float:
    """World yaw of the line between the two finger pads (the direction the gripper squeezes along)."""
    g = scene.gripper_model
    pads = []
    for key in ("left_fingerpad", "right_fingerpad"):
        names = g.important_geoms[key]
        ids = [scene.sim.model.geom_name2id(n) for n in names]
        pads.append(np.mean([scene.sim.data.geom_xpos[i] for i in ids], axis=0))
    d = pads[0] - pads[1]
    return float(np.arctan2(d[1], d[0]))


def fingertip_drop(scene) -> float:
    """How far the gripper's lowest collision geom reaches below the end-effector site (gripper pointing down)."""
    model, data = scene.sim.model._model, scene.sim.data._data
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    lowest = np.inf
    for name in scene.gripper_model.contact_geoms:
        gid = model.geom(name).id
        local = corners * model.geom_aabb[gid, 3:] + model.geom_aabb[gid, :3]
        world = local @ data.geom_xmat[gid].reshape(3, 3).T + data.geom_xpos[gid]
        lowest = min(lowest, float(world[:, 2].min()))
    return float(scene.eef_pos()[2] - lowest)


class WaypointExpert:
    """Runs a plan (list of Waypoints) built by `plan(expert)` at `reset()`; `act(obs)` returns one action."""

    def __init__(self, env, plan: Callable[[WaypointExpert], list[Waypoint]]):
        self.env = env.unwrapped
        self.plan_fn = plan
        self.ik = ArmIK(self.env.scene)
        self.waypoints: list[Waypoint] = []

    def reset(self) -> None:
        """Call after `env.reset()`: records the start orientation and builds the plan from the current state."""
        scene = self.env.scene
        self.ik = ArmIK(scene)
        self.home_mat = scene.eef_mat()
        self.home_finger_yaw = finger_axis_yaw(scene)
        self.tip_drop = fingertip_drop(scene)
        self.waypoints = self.plan_fn(self)
        self.index = 0
        self.count = 0
        self.held = 0
        self.yaw_cmd = 0.0

    @property
    def done(self) -> bool:
        return self.index >= len(self.waypoints)

    def _advance(self, dist: float, wp: Waypoint, state: dict) -> None:
        self.count += 1
        if dist < wp.tol:
            self.held += 1
        if self.held > wp.hold or self.count >= wp.max_steps:
            ok = wp.require is None or wp.require(state)
            self.index = self.index + 1 if ok else wp.retry_to
            self.count = 0
            self.held = 0

    def act(self, obs=None) -> np.ndarray:
        state = self.env.sim_state()
        wp = self.waypoints[min(self.index, len(self.waypoints) - 1)]
        pos, yaw = wp.target(state)
        eef = state["eef_pos"]
        delta = np.asarray(pos) - eef
        dist = float(np.linalg.norm(delta))
        if not self.done:
            self._advance(dist, wp, state)
        step = delta if dist <= MAX_CART_STEP else delta * (MAX_CART_STEP / dist)
        # Rotate the gripper about world z so its finger axis matches `yaw`; a squeeze axis is symmetric under pi.
        want = self.yaw_cmd if yaw is None else wrap_angle(yaw - self.home_finger_yaw, np.pi)
        self.yaw_cmd += float(np.clip(want - self.yaw_cmd, -MAX_YAW_STEP, MAX_YAW_STEP))
        target_mat = yaw_matrix(self.yaw_cmd) @ self.home_mat
        return self._to_action(eef + step, target_mat, wp.gripper, state)

    def grasp_yaw(self, obj: dict) -> float:
        """Finger-axis yaw for grasping `obj` (a sim_state object entry), the closest under its symmetry."""
        axis = obj["yaw"] + obj.get("grasp_axis", 0.0)
        return self.home_finger_yaw + wrap_angle(axis - self.home_finger_yaw, obj.get("symmetry", np.pi))

    def grasp_point(self, obj: dict, state: dict, above: float = 0.0) -> np.ndarray:
        """Where the end-effector site goes to grasp `obj`: near the top of tall objects, never so low that the
        fingertips hit the table."""
        z = obj["pos"][2] + max(0.0, obj["half_height"] - 0.025)
        z = max(z, state["table_top_z"] + self.tip_drop + 0.004)
        return np.array([obj["pos"][0], obj["pos"][1], z + above])

    def _to_action(self, pos, mat, gripper, state) -> np.ndarray:
        space = self.env.spec_info["action_space"]
        if space == "cartesian_velocity":
            twist = np.concatenate([pos - state["eef_pos"], rotation_error(mat, state["eef_mat"])])
            arm = np.clip(twist / np.asarray(CARTESIAN_STEP), -1.0, 1.0)
        else:
            q = self.ik.solve(pos, mat)
            if space == "joint_velocity":
                arm = (q - state["arm_qpos"]) * self.env.spec_info["control_freq"]
            else:
                arm = q
        action = np.append(arm, gripper).astype(np.float32)
        space_box = self.env.action_space
        return np.clip(action, space_box.low, space_box.high)

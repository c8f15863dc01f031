"""`DroidEnv`: the Gymnasium environment every task runs in (DROID observation layout, validated actions,
seeded variations, rendering only the requested cameras once per step).

Rendering on demand: `set_camera_rendering(False)` makes `reset`/`step` return observations without the camera
images (the caller turns it back on before a step whose images it reads); `view_state()` records what the
renderer needs at the current step and `render_view_state(state)` renders those exact pixels later.
`last_render_ms` is the render time of the latest observation (None when it carries no images); it is not in
`info`, which Gymnasium's checker requires to be deterministic.
"""

from __future__ import annotations

import time
from typing import ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from envs.action_spaces import get_action_space
from envs.cameras import EXTERIOR_CAMERAS, CameraRenderer
from envs.config import RENDER_MODES, EnvConfig
from envs.robots import get_embodiment, joint_limits
from envs.scene import TABLE_GEOM, SceneEnv
from envs.tasks.base import Task
from envs.variations import ModelVariator
from envs.view_state import ViewState, capture_view_state, restore_view_state

# Independent random streams per concern, so e.g. turning on camera jitter does not move the objects.
_STREAMS = ("objects", "distractors", "camera", "lighting", "table")
JOINT_OBS_MARGIN = 0.5  # rad
WORKSPACE_EXTENT = 2.0  # m, bound of |cartesian xyz| relative to the robot base


def mat_to_euler_xyz(mat: np.ndarray) -> np.ndarray:
    """Extrinsic x-y-z Euler angles of a rotation matrix (scipy's `as_euler("xyz")`, DROID's convention)."""
    return np.array(
        [
            np.arctan2(mat[2, 1], mat[2, 2]),
            -np.arcsin(np.clip(mat[2, 0], -1.0, 1.0)),
            np.arctan2(mat[1, 0], mat[0, 0]),
        ]
    )


class DroidEnv(gym.Env):
    """A table-top manipulation task exposed with DROID's observation and action conventions."""

    metadata: ClassVar[dict] = {"render_modes": list(RENDER_MODES), "render_fps": 15}

    def __init__(self, task: Task, config: EnvConfig | None = None, *, fingerprint: str = ""):
        config = config if config is not None else EnvConfig()
        self.config = config
        self.task = task
        self.embodiment = get_embodiment(config.embodiment)
        self.cameras = config.cameras
        self._aspace = get_action_space(config.action_space)
        self.variations = config.variations
        self.image_size = config.image_size
        self.render_mode = config.render_mode
        self.horizon = config.horizon if config.horizon is not None else int(task.config.horizon)
        self.fingerprint = fingerprint
        self.instruction = task.config.instruction
        control_freq = config.control_freq

        self._scene = SceneEnv(
            task,
            robot=self.embodiment.robosuite_robot,
            gripper=self.embodiment.gripper,
            controller_config=self._aspace.controller_config(),
            distractors=self.variations.distractors,
            control_freq=control_freq,
        )
        model = self._scene.sim.model._model
        self._data = self._scene.sim.data._data
        self._joint_lo, self._joint_hi = joint_limits(model, self._scene.robot.robot_model.joints)
        low, high = self._aspace.bounds(self._joint_lo, self._joint_hi)
        self._act_low, self._act_high = low.astype(np.float64), high.astype(np.float64)
        self.action_space = spaces.Box(low, high, dtype=np.float32)
        h, w = self.image_size
        obs_spaces = {cam: spaces.Box(0, 255, (h, w, 3), np.uint8) for cam in self.cameras}
        # Joints may overshoot soft limits a little under contact, hence the margin.
        obs_spaces["joint_position"] = spaces.Box(
            self._joint_lo - JOINT_OBS_MARGIN, self._joint_hi + JOINT_OBS_MARGIN, (7,), np.float32
        )
        obs_spaces["gripper_position"] = spaces.Box(0.0, 1.0, (1,), np.float32)
        cart_hi = np.array([WORKSPACE_EXTENT] * 3 + [np.pi] * 3, np.float32)
        obs_spaces["cartesian_position"] = spaces.Box(-cart_hi, cart_hi, (6,), np.float32)
        self.observation_space = spaces.Dict(obs_spaces)
        self._renderer = CameraRenderer(model, self.cameras, self.image_size)
        self._render_renderer: CameraRenderer | None = None
        self._render_cameras = True  # observations carry camera images (set_camera_rendering)
        self._render_ms: float | None = None  # render time of the latest observation, None when not rendered
        self._scratch: mujoco.MjData | None = None  # render_view_state's data, made on first use
        self._variator = ModelVariator(
            model, self.variations, tuple(c.name for c in EXTERIOR_CAMERAS), TABLE_GEOM
        )
        self.spec_info = {
            "embodiment": self.embodiment.name,
            "robot": self.embodiment.robosuite_robot,
            "action_space": self._aspace.name,
            "action_dim": int(low.shape[0]),
            "joint_limits": (self._joint_lo.tolist(), self._joint_hi.tolist()),
            "gripper": self.embodiment.gripper,
            "control_freq": int(control_freq),
            "dof": self.embodiment.dof,
        }
        self._t = 0
        self._base_pos = np.zeros(3)
        self._base_mat = np.eye(3)

    # ----- Gymnasium API ---------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode; the state is a pure function of (task, embodiment, make options, seed).

        Without a seed, one is drawn from the env's generator (itself seeded by the last explicit seed).
        `info["variations"]` holds every sampled value as flat keys.
        """
        super().reset(seed=seed)
        episode_seed = seed if seed is not None else int(self.np_random.integers(0, 2**63 - 1))
        rngs = dict(
            zip(
                _STREAMS,
                (np.random.default_rng(s) for s in np.random.SeedSequence(episode_seed).spawn(len(_STREAMS))),
                strict=True,
            )
        )
        scene = self._scene
        scene.sim.reset()
        scene._reset_internal()  # robots to their initial joints, fresh controllers, no noise
        scene.clear_placements()
        cfg = self.task.config
        xy_range = cfg.xy_range if self.variations.xy_range is None else self.variations.xy_range
        yaw_range = cfg.yaw_range if self.variations.yaw_range is None else self.variations.yaw_range
        sampled = dict(self.task.place(scene, rngs["objects"], xy_range, yaw_range))
        sampled.update(scene.place_distractors(rngs["distractors"]))
        sampled.update(self._variator.apply(rngs["camera"], rngs["lighting"], rngs["table"]))
        scene.forward()
        base_body = scene.robot.robot_model.root_body
        self._base_pos = scene.sim.data.get_body_xpos(base_body).copy()
        self._base_mat = scene.sim.data.get_body_xmat(base_body).reshape(3, 3).copy()
        self._t = 0
        evaluation = self.task.evaluate(scene)
        obs = self._observe()
        info = self._info(evaluation)
        info["variations"] = dict(sampled)
        return obs, info

    def step(self, action):
        """Apply one 15 Hz control step; `terminated` = task success, `truncated` = horizon reached."""
        # Validation happens before anything touches the simulator, so a bad action leaves the state unchanged.
        act = self._aspace.validate(action, self.action_space.shape[0])
        self._scene.step(self._aspace.to_robosuite(act, self._act_low, self._act_high))
        self._t += 1
        evaluation = self.task.evaluate(self._scene)
        obs = self._observe()
        reward = 1.0 if evaluation.success else 0.0
        return obs, reward, bool(evaluation.success), self._t >= self.horizon, self._info(evaluation)

    def render(self):
        """`render_mode="rgb_array"`: the first exterior camera at `image_size` (rendered on demand)."""
        if self.render_mode != "rgb_array":
            return None
        if self._render_renderer is None:
            self._render_renderer = CameraRenderer(
                self._scene.sim.model._model, ("exterior_image_0_left",), self.image_size
            )
        return self._render_renderer.render(self._data)["exterior_image_0_left"]

    def close(self):
        """Free the GL contexts (safe to call twice)."""
        self._renderer.close()
        if self._render_renderer is not None:
            self._render_renderer.close()
            self._render_renderer = None

    # ----- rendering on demand ---------------------------------------------------------------------------------
    def set_camera_rendering(self, on: bool) -> None:
        """Whether the next observations carry the camera images (default True); off, only proprioception."""
        self._render_cameras = bool(on)

    @property
    def last_render_ms(self) -> float | None:
        """Wall ms spent rendering the latest observation's cameras; None when it was not rendered."""
        return self._render_ms

    def _render_now(self) -> dict:
        if not self.cameras:
            return {}
        t0 = time.perf_counter()
        images = self._renderer.render(self._data)
        self._render_ms = (time.perf_counter() - t0) * 1e3
        return images

    def view_state(self) -> ViewState:
        """What the cameras would show now, as data (see `envs.view_state`); valid until the next reset."""
        return capture_view_state(self._data)

    def render_view_state(self, state: ViewState) -> dict:
        """The camera images of a `view_state()` taken since the last reset: the pixels `step` showed then."""
        if self._scratch is None:
            self._scratch = mujoco.MjData(self._scene.sim.model._model)
        return self._renderer.render(restore_view_state(self._scratch, state))

    # ----- observations / privileged state ---------------------------------------------------------------------
    def _observe(self) -> dict:
        scene = self._scene
        self._render_ms = None
        obs = self._render_now() if self._render_cameras else {}
        obs["joint_position"] = scene.arm_qpos().astype(np.float32)
        obs["gripper_position"] = np.array([scene.gripper_closure()], np.float32)
        rel_pos = self._base_mat.T @ (scene.eef_pos() - self._base_pos)
        rel_mat = self._base_mat.T @ scene.eef_mat()
        obs["cartesian_position"] = np.concatenate([rel_pos, mat_to_euler_xyz(rel_mat)]).astype(np.float32)
        return obs

    def _info(self, evaluation) -> dict:
        return {
            "success": bool(evaluation.success),
            "progress": float(evaluation.progress),
            "stages": dict(evaluation.stages),
            "instruction": self.instruction,
        }

    @property
    def scene(self) -> SceneEnv:
        """The underlying robosuite environment (for experts and tests)."""
        return self._scene

    @property
    def timestep(self) -> int:
        return self._t

    def sim_state(self) -> dict:
        """Privileged state for scripted experts: robot state in world frame plus the task's own entries."""
        scene = self._scene
        state = {
            "t": self._t,
            "eef_pos": scene.eef_pos(),
            "eef_mat": scene.eef_mat(),
            "arm_qpos": scene.arm_qpos(),
            "gripper": scene.gripper_closure(),
            "table_top_z": scene.table_top_z,
            "base_pos": self._base_pos.copy(),
        }
        state.update(self.task.privileged_state(scene))
        return state

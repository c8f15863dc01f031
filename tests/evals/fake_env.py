"""A tiny deterministic stand-in for the `envs` package and the policy factory, for fast runner tests.

`FakeReach`: 7 joints move halfway to the commanded targets each step; success when they are within 0.05 of
a goal drawn from the reset seed. `FakeCrash` raises inside `step` at step 3. Observation keys, info keys and
`spec_info` follow the envs contract. Everything is module-level so `spawn` workers can unpickle it
(tests put this folder on sys.path; spawned children inherit sys.path).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from evals.contract import PolicyMetadata
from evals.runner.backend import EnvBackend

TASKS = ("FakeReach", "FakeCrash")
EMBODIMENTS = ("panda", "ur5e")
CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
VARIATION_KEYS = ("object_pose", "distractors", "camera_jitter", "lighting", "table_texture")


class FakeReachEnv(gym.Env):
    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(
        self,
        task: str,
        embodiment: str = "panda",
        *,
        cameras=(),
        image_size=(24, 32),
        action_space="joint_position",
        variations=None,
        control_freq=15,
        horizon=None,
        render_mode=None,
    ):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; valid: {TASKS}")
        for key in variations or {}:
            if key not in VARIATION_KEYS:
                raise ValueError(f"unknown variation {key!r}")
        self.task, self.cameras, self.image_size = task, tuple(cameras), tuple(image_size)
        self.variations = dict(variations or {})
        self.horizon = horizon or 40
        self.instruction = "reach the goal"
        limit = np.full(7, 2.9, np.float32)
        self.spec_info = {
            "embodiment": embodiment,
            "action_space": action_space,
            "action_dim": 8,
            "joint_limits": (-limit, limit),
            "gripper": "fake",
            "control_freq": control_freq,
            "dof": 7,
        }
        self.action_space = spaces.Box(
            np.append(-limit, 0).astype(np.float32), np.append(limit, 1).astype(np.float32)
        )
        h, w = self.image_size
        obs_spaces = {c: spaces.Box(0, 255, (h, w, 3), np.uint8) for c in self.cameras}
        obs_spaces |= {
            "joint_position": spaces.Box(-limit, limit, dtype=np.float32),
            "gripper_position": spaces.Box(0, 1, (1,), np.float32),
            "cartesian_position": spaces.Box(-10, 10, (6,), np.float32),
        }
        self.observation_space = spaces.Dict(obs_spaces)

    def sim_state(self) -> dict[str, Any]:
        return {"goal": self.goal.copy()}

    # Rendering on demand, as DroidEnv: images only when asked; view states re-render the same pixels.
    render_cameras = True
    renders = 0  # camera renders so far (tests count them)

    def set_camera_rendering(self, on: bool) -> None:
        self.render_cameras = bool(on)

    def view_state(self) -> np.ndarray:
        return self.joints.copy()

    def render_view_state(self, state: np.ndarray) -> dict[str, np.ndarray]:
        return self._images(state)

    def _images(self, joints: np.ndarray) -> dict[str, np.ndarray]:
        self.renders += 1
        images = {}
        for i, cam in enumerate(self.cameras):
            value = int(abs(joints[i]) * 80) % 256
            images[cam] = np.full((*self.image_size, 3), value, np.uint8)
        return images

    def _obs(self) -> dict[str, Any]:
        obs = {
            "joint_position": self.joints.astype(np.float32),
            "gripper_position": np.array([self.gripper], np.float32),
            "cartesian_position": np.concatenate([self.joints[:3], np.zeros(3)]).astype(np.float32),
        }
        if self.render_cameras:
            obs.update(self._images(self.joints))
        return obs

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        rng = np.random.default_rng(seed)
        self.goal = rng.uniform(-1, 1, 7)
        self.joints = rng.uniform(-0.5, 0.5, 7)
        self.gripper = 0.0
        self.t = 0
        self.start_dist = float(np.linalg.norm(self.joints - self.goal))
        xy = (self.variations.get("object_pose") or {}).get("xy_range", 0.0)
        sampled = {
            "object_pose.dx": float(rng.uniform(-xy, xy)),
            "distractors.count": int(self.variations.get("distractors") or 0),
            "table_texture.name": "oak",
        }
        return self._obs(), {
            "success": False,
            "progress": 0.0,
            "instruction": self.instruction,
            "variations": sampled,
        }

    def step(self, action):
        action = np.asarray(action, np.float32)
        if self.task == "FakeCrash" and self.t == 3:
            raise RuntimeError("simulated physics blow-up")
        self.joints = self.joints + 0.5 * (action[:7].astype(np.float64) - self.joints)
        self.gripper = float(action[7])
        self.t += 1
        dist = float(np.linalg.norm(self.joints - self.goal))
        success = dist < 0.05
        progress = float(np.clip(1 - dist / self.start_dist, 0, 1))
        info = {"success": success, "progress": progress, "instruction": self.instruction}
        if self.cameras and self.render_cameras:
            info["render_ms"] = 0.25
        return self._obs(), float(success), success, self.t >= self.horizon, info


def fake_make(task: str, **kwargs: Any) -> FakeReachEnv:
    return FakeReachEnv(task, **kwargs)


def fake_list_tasks() -> list[str]:
    return list(TASKS)


def fake_list_embodiments() -> list[str]:
    return list(EMBODIMENTS)


def fake_task_info(task: str) -> dict[str, Any]:
    return {
        "default_instruction": "reach the goal",
        "paraphrases": ["move to the goal"],
        "default_horizon": 30,
        "fingerprint": f"fp-{task}",
        "description": "fake",
    }


def fake_backend() -> EnvBackend:
    return EnvBackend(fake_make, fake_list_tasks, fake_list_embodiments, fake_task_info)


# ---- policies -------------------------------------------------------------------------------------------


class FakePolicy:
    """Chunks of `chunk` copies of (goal, gripper closed); variants via `kind`.

    `die_once` SIGKILLs its own worker process at the first call of every seed-0 episode, once per
    episode (a marker file in `marker_dir` remembers it across processes), and of every FakeCrash episode
    on each try: the retry of the former succeeds, the latter ends as a `WorkerCrash` error."""

    def __init__(
        self, env: Any, kind: str, seed: int, episode_key: dict | None = None, marker_dir: str | None = None
    ):
        self.env, self.kind = env.unwrapped, kind
        self.episode_key, self.marker_dir = episode_key or {}, marker_dir
        self.rng = np.random.default_rng(seed)
        cams = ("exterior_image_0_left",) if kind == "camera" else ()
        self.metadata = PolicyMetadata(
            name=kind, action_space="joint_position", action_dim=8, cameras=cams, chunk_length=4
        )
        self.calls = 0

    def reset(self, instruction: str) -> None:
        self.calls = 0

    def infer(self, obs: dict) -> dict:
        self.calls += 1
        if self.kind == "raise":
            raise RuntimeError("policy exploded")
        if self.kind == "die" and self.env.task == "FakeCrash":
            os._exit(3)  # a hard crash of the whole worker process (like a segfault in a native library)
        if self.kind == "die_once" and self._kill_now():
            os.kill(os.getpid(), signal.SIGKILL)  # the worker process is killed mid-episode
        if self.kind == "random":
            low, high = self.env.action_space.low, self.env.action_space.high
            return {"actions": self.rng.uniform(low, high, (1, 8)).astype(np.float32)}
        if self.kind == "nan" and self.calls == 2:
            return {"actions": np.full((4, 8), np.nan, np.float32)}
        if self.kind == "camera":
            assert "exterior_image_0_left" in obs, "camera policy got no image"
        if self.kind == "slow":
            time.sleep(0.15)
        target = np.append(self.env.sim_state()["goal"], 1.0).astype(np.float32)
        out = {"actions": np.tile(target, (4, 1))}
        if self.kind == "camera":
            out["timing"] = {"vae": 1.5, "dit": 3.0}
        return out

    def _kill_now(self) -> bool:
        if self.calls != 1:
            return False
        if self.env.task == "FakeCrash":
            return True
        if self.episode_key.get("seed") != 0:
            return False
        marker = Path(self.marker_dir) / f"{self.episode_key['case_id']}__seed0"
        if marker.exists():
            return False
        marker.touch()
        return True


class FakeFactory:
    KINDS = ("expert", "random", "nan", "raise", "camera", "slow", "die", "die_once")

    def __init__(self, spec: str, options: dict | None = None):
        if spec not in self.KINDS:
            raise ValueError(f"unknown policy {spec!r}; valid forms: {', '.join(self.KINDS)}")
        self.spec = spec
        self.marker_dir = (options or {}).get("marker_dir")
        if spec == "die_once" and not self.marker_dir:
            raise ValueError("policy die_once needs --policy-opt marker_dir=DIR")
        self.closed = False
        self.episodes = 0  # for_episode calls

    def for_episode(self, env: Any, *, seed: int, episode_key: dict) -> FakePolicy:
        self.episodes += 1
        return FakePolicy(env, self.spec, seed, episode_key, self.marker_dir)

    def describe(self) -> dict:
        return {"name": self.spec, "spec": self.spec, "checkpoint": None, "options": {}}

    def close(self) -> None:
        self.closed = True


def make_fake_factory(
    spec: str, *, checkpoint: str | None = None, options: dict | None = None
) -> FakeFactory:
    return FakeFactory(spec, options)

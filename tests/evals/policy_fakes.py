"""A tiny stand-in for an ``envs.make`` env (the envs contract), for policy tests that need no simulator."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

PANDA_LOW = np.array([-2.9, -1.76, -2.9, -3.07, -2.9, -0.02, -2.9], np.float32)
PANDA_HIGH = np.array([2.9, 1.76, 2.9, -0.07, 2.9, 3.75, 2.9], np.float32)


class _Box:
    def __init__(self, low, high):
        self.low = np.asarray(low, np.float32)
        self.high = np.asarray(high, np.float32)
        self.shape = self.low.shape


class FakeEnv:
    """Exposes what policies read: ``action_space``, ``unwrapped.spec_info`` and a DROID observation."""

    def __init__(self, action_space: str = "joint_position", image_size=(8, 12)):
        dim = 7 if action_space == "cartesian_velocity" else 8
        if action_space == "joint_position":
            # A box wider than the joint limits, as position-controlled envs often declare.
            low, high = np.r_[np.full(7, -2 * np.pi), 0.0], np.r_[np.full(7, 2 * np.pi), 1.0]
        else:
            low, high = np.r_[np.full(dim - 1, -1.0), 0.0], np.r_[np.full(dim - 1, 1.0), 1.0]
        self.action_space = _Box(low, high)
        self.unwrapped = self
        self.spec_info = {
            "embodiment": "panda",
            "action_space": action_space,
            "action_dim": dim,
            "joint_limits": (PANDA_LOW, PANDA_HIGH),
            "gripper": "panda",
            "control_freq": 15,
            "dof": 7,
        }
        self.image_size = image_size

    def observation(self, seed: int = 0) -> dict:
        rng = np.random.default_rng(seed)
        h, w = self.image_size
        obs = {
            cam: rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            for cam in ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
        }
        obs["joint_position"] = rng.uniform(PANDA_LOW, PANDA_HIGH).astype(np.float32)
        obs["gripper_position"] = np.array([0.8], np.float32)
        obs["cartesian_position"] = rng.normal(size=6).astype(np.float32)
        return obs


class FakeExpert:
    """Per-step agent like ``envs.experts.make_expert(env)``: counts steps into joint 0."""

    def __init__(self, env):
        self.env = env
        self.steps = 0

    def reset(self):
        self.steps = 0

    def act(self, obs):
        self.steps += 1
        action = np.zeros(self.env.spec_info["action_dim"], np.float32)
        action[0] = self.steps / 100
        return action


class FakeDreamZero:
    """Stands in for ``dreamzero_jax.inference.DreamZeroPolicy`` (plain-dict metadata, records builds/resets)."""

    built: ClassVar[list] = []
    placed: ClassVar[list] = []  # (dtype, mesh) of each build
    overridden: ClassVar[list] = []  # the config overrides of each build (e.g. noise_scale)

    def __init__(self, config_name, checkpoint, seed):
        self.metadata = {
            "name": "dreamzero",
            "action_space": "joint_position",
            "action_dim": 8,
            "chunk_length": 24,
            "cameras": ("wrist_image_left",),
        }
        self.resets: list = []
        self.frames: list = []  # the real model's per-episode frame buffer
        FakeDreamZero.built.append((config_name, checkpoint, seed))

    @classmethod
    def from_config(cls, *, config_name, checkpoint, seed, dtype="float32", mesh=None, **overrides):
        cls.placed.append((dtype, mesh))
        cls.overridden.append(overrides)
        return cls(config_name, checkpoint, seed)

    def reset(self, instruction, seed=None):
        self.resets.append((instruction, seed))

    def infer(self, obs):
        return {"actions": np.zeros((24, 8), np.float32)}

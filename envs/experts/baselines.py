"""Baseline agents: uniformly random actions and "do nothing" (hold the current state)."""

from __future__ import annotations

import numpy as np

from envs.action_spaces import get_action_space


class RandomAgent:
    """Samples uniformly from the action space with its own seeded generator."""

    def __init__(self, env, seed: int = 0):
        self.env = env.unwrapped
        self.seed = seed
        self.reset()

    def reset(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def act(self, obs=None) -> np.ndarray:
        box = self.env.action_space
        return self.rng.uniform(box.low, box.high).astype(np.float32)


class ZeroAgent:
    """Holds still: current joints as targets (joint_position) or zero velocities; the gripper stays as it is.

    The hold pose is captured at `reset()` so the arm does not creep under gravity-induced tracking error.
    """

    def __init__(self, env):
        self.env = env.unwrapped
        self._action: np.ndarray | None = None

    def reset(self) -> None:
        state = self.env.sim_state()
        space = self.env.spec_info["action_space"]
        self._action = get_action_space(space).hold(state["arm_qpos"], round(state["gripper"]))

    def act(self, obs=None) -> np.ndarray:
        if self._action is None:
            self.reset()
        return self._action.copy()

"""``expert``: the env's scripted expert (``envs.experts.make_expert``) as a one-action-per-call policy.

The expert reads privileged simulator state, so it is built fresh for every episode around that
episode's env. Its chunk length is 1, so the chunk adapter re-queries it on every step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evals.contract.policy import PolicyMetadata


class AgentPolicy:
    """Adapts a per-step agent (``reset()``, ``act(obs) -> (action_dim,)``) to the Policy interface.

    With ``action_noise > 0`` (DART-style demonstrations) Gaussian noise of that std is added to every dimension
    but the last (the gripper) of the EXECUTED action, drawn from ``np.random.default_rng(seed)``; the clean
    action is returned as ``"labels"`` so a dataset records what the expert meant to do.
    """

    def __init__(
        self, agent: Any, metadata: PolicyMetadata, action_noise: float = 0.0, seed: int = 0
    ) -> None:
        self.agent = agent
        self.metadata = metadata
        self.action_noise = float(action_noise)
        self.seed = int(seed)
        self._rng = np.random.default_rng(self.seed)

    def reset(self, instruction: str) -> None:
        self.agent.reset()
        self._rng = np.random.default_rng(self.seed)

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        clean = np.asarray(self.agent.act(obs), np.float32).reshape(1, -1)
        if self.action_noise <= 0:
            return {"actions": clean}
        noise = np.zeros_like(clean)
        noise[:, :-1] = self._rng.normal(0.0, self.action_noise, size=(1, clean.shape[1] - 1))
        return {"actions": clean + noise, "labels": clean}


def default_make_expert(env: Any) -> Any:
    """``envs.experts.make_expert``, imported on first use so ``evals`` does not load the simulator."""
    from envs.experts import make_expert

    return make_expert(env)


def expert_policy(
    env: Any,
    make_agent: Callable[[Any], Any] = default_make_expert,
    *,
    action_noise: float = 0.0,
    seed: int = 0,
) -> AgentPolicy:
    """The scripted expert for ``env``'s task, embodiment and action space (noisy execution, see AgentPolicy)."""
    info = env.unwrapped.spec_info
    space = str(info["action_space"])
    metadata = PolicyMetadata(
        name="expert",
        action_space=space,
        action_dim=int(info["action_dim"]),
        chunk_length=1,
        config={"action_space": space, "action_noise": float(action_noise)},
    )
    return AgentPolicy(make_agent(env), metadata, action_noise=action_noise, seed=seed)

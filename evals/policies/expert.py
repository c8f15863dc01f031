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
    """Adapts a per-step agent (``reset()``, ``act(obs) -> (action_dim,)``) to the Policy interface."""

    def __init__(self, agent: Any, metadata: PolicyMetadata) -> None:
        self.agent = agent
        self.metadata = metadata

    def reset(self, instruction: str) -> None:
        self.agent.reset()

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        return {"actions": np.asarray(self.agent.act(obs), np.float32).reshape(1, -1)}


def default_make_expert(env: Any) -> Any:
    """``envs.experts.make_expert``, imported on first use so ``evals`` does not load the simulator."""
    from envs.experts import make_expert

    return make_expert(env)


def expert_policy(env: Any, make_agent: Callable[[Any], Any] = default_make_expert) -> AgentPolicy:
    """The scripted expert for ``env``'s task, embodiment and action space."""
    info = env.unwrapped.spec_info
    space = str(info["action_space"])
    metadata = PolicyMetadata(
        name="expert",
        action_space=space,
        action_dim=int(info["action_dim"]),
        chunk_length=1,
        config={"action_space": space},
    )
    return AgentPolicy(make_agent(env), metadata)

"""``dagger``: a learner acts, the task's scripted expert labels every step (one round of DAgger).

Behaviour cloning only ever sees the expert's own states; a cloned policy that drifts (hovers beside the cube,
closes on nothing) meets states no demonstration covers. Recording episodes in which the *learner* drives and
the expert says what it would do at each visited state (Ross et al., 2011, "A Reduction of Imitation Learning
and Structured Prediction to No-Regret Online Learning") gives labels exactly where the learner goes wrong:
``evals.run --policy dagger --checkpoint CKPT --dataset DIR --dataset-all``.

The learner runs through its own :class:`~evals.contract.adapter.ChunkedPolicyWrapper` with the usual
open-loop horizon, so it acts as it would under ``--policy dreamzero``; the combination answers one action per
step (chunk length 1) with the expert's clean action as ``"labels"``. The expert is called on every step because
its plan advances with the states it sees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evals.contract.adapter import ChunkedPolicyWrapper
from evals.contract.policy import Policy, PolicyMetadata


class DaggerPolicy:
    """Executes ``learner``'s actions (re-planned every ``open_loop_horizon`` steps) and labels each step
    with ``expert``'s action for the same observation."""

    def __init__(
        self,
        learner: Policy,
        expert: Policy,
        *,
        open_loop_horizon: int,
        action_low: Any,
        action_high: Any,
    ) -> None:
        self.learner = ChunkedPolicyWrapper(
            learner, open_loop_horizon=open_loop_horizon, action_low=action_low, action_high=action_high
        )
        self.expert = expert
        inner = learner.metadata
        self.metadata = PolicyMetadata(
            name="dagger",
            action_space=expert.metadata.action_space,
            action_dim=expert.metadata.action_dim,
            cameras=tuple(inner.cameras),
            image_size=inner.image_size,
            chunk_length=1,
            config={"learner": inner.to_dict(), "open_loop_horizon": int(open_loop_horizon)},
        )

    def reset(self, instruction: str) -> None:
        """Start an episode for both; the env has been reset already (the expert plans from its scene)."""
        self.learner.reset(instruction)
        self.expert.reset(instruction)

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        """The learner's action for this step, and the expert's clean action as its label."""
        action, _ = self.learner.act(obs)
        expert_out = self.expert.infer(obs)
        label = expert_out.get("labels", expert_out["actions"])
        return {"actions": action[None], "labels": np.asarray(label, np.float32).reshape(1, -1)}

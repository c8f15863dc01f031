"""Turns a chunk-predicting policy into one safe env action per control step.

``ChunkedPolicyWrapper`` queries ``policy.infer`` only when needed (open-loop horizon), and guards what reaches
the simulator: a wrong shape or a NaN/inf raises :class:`PolicyOutputError` (the runner records the episode
as an error), every action is clipped to the action space and the gripper dimension is binarised as DROID
clients do.

Example:
    >>> import numpy as np
    >>> from evals.contract import PolicyMetadata
    >>> class Ramp:
    ...     metadata = PolicyMetadata(name="ramp", action_dim=2)
    ...     def reset(self, instruction): pass
    ...     def infer(self, obs):
    ...         return {"actions": np.array([[0.1, 0.2], [0.3, 0.9], [5.0, 0.0]], np.float32)}
    >>> w = ChunkedPolicyWrapper(Ramp(), open_loop_horizon=2, action_low=[-1, 0], action_high=[1, 1])
    >>> w.reset("pick")
    >>> [w.act({})[0].tolist() for _ in range(3)]  # third step re-queries after 2 actions
    [[0.10000000149011612, 0.0], [0.30000001192092896, 1.0], [0.10000000149011612, 0.0]]
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from evals.contract.policy import Policy


class PolicyOutputError(RuntimeError):
    """The policy returned something that must not reach the simulator (wrong shape, NaN or inf)."""


@dataclasses.dataclass(frozen=True)
class StepInfo:
    """What the adapter did on one control step (recorded per step by the runner)."""

    chunk_index: int  # 0-based index of the chunk this action came from, within the episode
    pos_in_chunk: int  # 0-based position of the action inside its chunk
    policy_called: bool  # True when ``infer`` ran on this step
    latency_ms: float | None  # wall time of ``infer`` when it ran, else None
    timing: dict[str, float] | None  # the policy's per-stage timing when it ran, else None
    # The clean label for this action when the policy returns ``"labels"`` beside noisy ``"actions"`` (same
    # clipping and gripper binarisation as the action), else None.
    label: np.ndarray | None = None


class ChunkedPolicyWrapper:
    """Per-step actions from a chunk-predicting :class:`~evals.contract.policy.Policy`.

    Args:
        policy: the policy; ``infer(obs)`` returns ``{"actions": (N, action_dim)}`` (a single ``(action_dim,)``
            action is accepted as a chunk of one).
        open_loop_horizon: actions executed from each chunk before re-querying (DROID default 8); a shorter
            chunk is re-queried when it runs out.
        action_low, action_high: bounds of the env action space, shape ``(action_dim,)``.
        gripper_index: the gripper dimension (default last); ``None`` for no gripper.
        binarize_gripper: map the gripper dimension to {0, 1} with ``threshold`` (>= threshold closes).
        threshold: gripper binarisation threshold.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        open_loop_horizon: int,
        action_low: Any,
        action_high: Any,
        gripper_index: int | None = -1,
        binarize_gripper: bool = True,
        threshold: float = 0.5,
    ) -> None:
        if int(open_loop_horizon) < 1:
            raise ValueError(f"open_loop_horizon must be >= 1, got {open_loop_horizon}")
        low = np.asarray(action_low, np.float32).reshape(-1)
        high = np.asarray(action_high, np.float32).reshape(-1)
        if low.shape != high.shape or np.any(low > high):
            raise ValueError(f"action bounds must have equal shapes with low <= high, got {low} and {high}")
        self.policy = policy
        self.open_loop_horizon = int(open_loop_horizon)
        self.action_low, self.action_high = low, high
        self.action_dim = low.shape[0]
        self.gripper_index = gripper_index
        self.binarize_gripper = binarize_gripper
        self.threshold = float(threshold)
        self.last_output: dict[str, Any] | None = None  # raw dict of the latest infer call (e.g. "video")
        self._instruction = ""
        self._start_episode()

    def _start_episode(self) -> None:
        self._chunk: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        self._chunk_index = -1
        self._pos = 0
        self._usable = 0

    def reset(self, instruction: str) -> None:
        """Start a new episode: forget the current chunk and reset the policy with the instruction."""
        self._instruction = instruction
        self._start_episode()
        self.last_output = None
        self.policy.reset(instruction)

    def will_call(self) -> bool:
        """True when the next :meth:`act` queries the policy, i.e. reads the observation it is given.

        The runner renders cameras only for such steps (and for video frames): the other steps' images are
        never looked at by the policy."""
        return self._chunk is None or self._pos >= self._usable

    def act(self, obs: dict[str, Any]) -> tuple[np.ndarray, StepInfo]:
        """The action for this step (float32 ``(action_dim,)``) and what was done to get it."""
        called, latency_ms, timing = False, None, None
        if self.will_call():
            query = obs if "prompt" in obs else {**obs, "prompt": self._instruction}
            start = time.perf_counter()
            output = self.policy.infer(query)
            latency_ms = (time.perf_counter() - start) * 1e3
            called = True
            self._chunk_index += 1
            self._chunk = self._validated_chunk(output)
            self._labels = self._validated_labels(output, self._chunk.shape)
            self._usable = min(self._chunk.shape[0], self.open_loop_horizon)
            self._pos = 0
            self.last_output = output if isinstance(output, dict) else None
            raw_timing = output.get("timing") if isinstance(output, dict) else None
            timing = {str(k): float(v) for k, v in raw_timing.items()} if raw_timing else None
        action = self._guard(self._chunk[self._pos])
        label = None if self._labels is None else self._guard(self._labels[self._pos])
        info = StepInfo(self._chunk_index, self._pos, called, latency_ms, timing, label)
        self._pos += 1
        return action, info

    def _guard(self, row: np.ndarray) -> np.ndarray:
        """Clip to the action space and binarise the gripper, as for every action sent to the simulator."""
        action = np.clip(row, self.action_low, self.action_high)
        if self.binarize_gripper and self.gripper_index is not None:
            action[self.gripper_index] = 1.0 if action[self.gripper_index] >= self.threshold else 0.0
        return action.astype(np.float32)

    def _validated_labels(self, output: dict[str, Any], shape: tuple[int, ...]) -> np.ndarray | None:
        """The optional ``"labels"`` chunk (same shape as the actions, finite), or None when absent."""
        if "labels" not in output:
            return None
        labels = np.array(output["labels"], dtype=np.float32)
        if labels.ndim == 1:
            labels = labels[None]
        if labels.shape != shape or not np.all(np.isfinite(labels[: self.open_loop_horizon])):
            raise PolicyOutputError(
                f"chunk {self._chunk_index}: 'labels' must be finite with the actions' shape {shape}"
            )
        return labels

    def _validated_chunk(self, output: Any) -> np.ndarray:
        """The chunk as float32 (N, action_dim), or PolicyOutputError naming what is wrong."""
        where = f"chunk {self._chunk_index}"
        if not isinstance(output, dict) or "actions" not in output:
            raise PolicyOutputError(f"{where}: infer() must return a dict with 'actions', got {type(output)}")
        try:
            chunk = np.array(output["actions"], dtype=np.float32)
        except (TypeError, ValueError) as err:
            raise PolicyOutputError(f"{where}: 'actions' is not numeric: {err}") from err
        if chunk.ndim == 1:
            chunk = chunk[None]
        if chunk.ndim != 2 or chunk.shape[0] < 1 or chunk.shape[1] != self.action_dim:
            raise PolicyOutputError(
                f"{where}: actions have shape {np.shape(output['actions'])}, "
                f"expected (N, {self.action_dim}) or ({self.action_dim},)"
            )
        # Only the actions that will be executed must be finite; the tail beyond the horizon is never sent.
        executed = chunk[: self.open_loop_horizon]
        bad = np.argwhere(~np.isfinite(executed))
        if bad.size:
            row, dim = (int(i) for i in bad[0])
            raise PolicyOutputError(
                f"{where}: non-finite action value {executed[row, dim]} at index {row}, dim {dim}"
            )
        return chunk

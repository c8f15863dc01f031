"""``replay:<steps.parquet>``: re-sends the actions a previous run recorded, one per step.

The recorded actions are the ones the runner actually sent (already clipped and binarised), so a replay
through the chunk adapter reproduces them exactly; with a deterministic env the trajectory repeats too.
Episodes are matched on ``(case_id, seed)``. The action column is either ``action`` (one list per row) or
``action_0 .. action_<d-1>``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from evals.contract.policy import PolicyMetadata

KEY_COLUMNS = ("case_id", "seed")


class ReplayError(LookupError):
    """The recording has no such episode, or ran out of actions."""


def _action_matrix(frame: Any) -> np.ndarray:
    if "action" in frame.columns:
        return np.stack([np.asarray(a, np.float32) for a in frame["action"]]).astype(np.float32)
    cols = sorted((c for c in frame.columns if re.fullmatch(r"action_\d+", c)), key=lambda c: int(c[7:]))
    return frame[cols].to_numpy(np.float32)


class Recording:
    """The actions of every episode in one ``steps.parquet``, loaded once per worker."""

    def __init__(self, path: str | Path) -> None:
        import pandas as pd  # deferred: only replay needs pandas at policy level

        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"replay file {self.path} does not exist")
        frame = pd.read_parquet(self.path)
        has_actions = "action" in frame.columns or any(re.fullmatch(r"action_\d+", c) for c in frame.columns)
        missing = [c for c in (*KEY_COLUMNS, "step") if c not in frame.columns]
        if missing or not has_actions:
            raise ValueError(
                f"replay file {self.path} lacks columns {[*missing] + ([] if has_actions else ['action'])}; "
                "expected a steps.parquet written by evals.run"
            )
        self._episodes: dict[tuple[str, int], np.ndarray] = {}
        for (case_id, seed), group in frame.groupby(list(KEY_COLUMNS), sort=False):
            self._episodes[(str(case_id), int(seed))] = _action_matrix(group.sort_values("step"))

    def __len__(self) -> int:
        return len(self._episodes)

    def actions(self, episode_key: dict[str, Any]) -> np.ndarray:
        """The recorded (T, action_dim) actions for ``episode_key`` (needs ``case_id`` and ``seed``)."""
        key = (str(episode_key["case_id"]), int(episode_key["seed"]))
        if key not in self._episodes:
            raise ReplayError(f"replay file {self.path} has no episode case_id={key[0]!r} seed={key[1]}")
        return self._episodes[key]


class ReplayPolicy:
    """Returns the next recorded action on each call (chunk length 1); running out is an error."""

    def __init__(
        self,
        actions: np.ndarray,
        *,
        source: str,
        episode_key: dict[str, Any],
        action_space: str | None = None,
    ) -> None:
        self._actions = actions
        self._step = 0
        self._key = {k: episode_key[k] for k in KEY_COLUMNS}
        self.metadata = PolicyMetadata(
            name="replay",
            action_space=action_space,
            action_dim=int(actions.shape[1]),
            chunk_length=1,
            config={"source": source},
        )

    def reset(self, instruction: str) -> None:
        self._step = 0

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        if self._step >= len(self._actions):
            raise ReplayError(f"replay of {self._key} ran out after {len(self._actions)} recorded actions")
        action = self._actions[self._step]
        self._step += 1
        return {"actions": action[None].copy()}

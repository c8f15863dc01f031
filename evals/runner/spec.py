"""`EpisodeSpec`: everything needed to run one episode, resolved from a suite case and one seed.

The env seed is derived from (case id, seed) only, with a stable hash, so an episode's initial state never
depends on worker count, episode order or what ran before it.

Example:
    >>> derive_env_seed("cube_panda", 0) == derive_env_seed("cube_panda", 0)
    True
    >>> derive_env_seed("cube_panda", 0) != derive_env_seed("cube_panda", 1)
    True
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

# 2**31 - 1 keeps the seed valid for every RNG the envs may feed it to (numpy, mujoco, python `random`).
_SEED_MODULUS = 2**31 - 1


def derive_env_seed(case_id: str, seed: int) -> int:
    """Stable env seed for (case id, seed): sha256, not Python's salted `hash()`."""
    digest = hashlib.sha256(f"{case_id}\x00{int(seed)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _SEED_MODULUS


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode: a resolved suite case plus one seed. Immutable, picklable, JSON-able via `to_dict`."""

    suite_name: str
    suite_version: str
    case_index: int  # position of the case in the suite; defines the row order of the outputs
    case_id: str
    task: str
    embodiment: str
    instruction: str
    seed: int
    horizon: int
    open_loop_horizon: int
    action_space: str
    cameras: tuple[str, ...]
    image_size: tuple[int, int]
    control_freq: int
    stop_on_success: bool
    variations: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()

    @property
    def env_seed(self) -> int:
        return derive_env_seed(self.case_id, self.seed)

    @property
    def episode_key(self) -> dict[str, Any]:
        """Identifies the episode across runs (used by resume and by the replay policy)."""
        return {"case_id": self.case_id, "seed": self.seed}

    @property
    def name(self) -> str:
        """File-name-safe episode name (case ids are restricted to [A-Za-z0-9_.-] by the schema)."""
        return f"{self.case_id}__seed{self.seed}"

    def make_kwargs(self, cameras: tuple[str, ...]) -> dict[str, Any]:
        """Keyword arguments for `envs.make` (the cameras to render are the runner's choice)."""
        return {
            "embodiment": self.embodiment,
            "cameras": tuple(cameras),
            "image_size": tuple(self.image_size),
            "action_space": self.action_space,
            "variations": self.variations or None,
            "control_freq": self.control_freq,
            "horizon": self.horizon,
        }

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["env_seed"] = self.env_seed
        return d

    def variations_json(self) -> str:
        return json.dumps(self.variations, sort_keys=True)

"""`RaySettings`: where `--executor ray` runs and what each of its workers reserves, validated from the flags.

Kept apart from `ray_executor` (which needs the optional `ray` package on use) so that planning a run never
imports Ray unless the run asks for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evals.runner.exit_codes import UsageError

DEFAULT_CPUS, DEFAULT_GPUS = 1.0, 0.0


@dataclass(frozen=True)
class RaySettings:
    """The Ray cluster and what each actor (one episode at a time) reserves."""

    address: str | None = None  # "auto", "HOST:PORT", "ray://HOST:PORT"; None starts a local cluster
    episode_cpus: float = DEFAULT_CPUS
    episode_gpus: float = DEFAULT_GPUS
    episode_resources: Mapping[str, float] = field(default_factory=dict)  # e.g. {"TPU": 4}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form recorded in run.json."""
        return {
            "address": self.address,
            "episode_cpus": self.episode_cpus,
            "episode_gpus": self.episode_gpus,
            "episode_resources": dict(self.episode_resources),
        }


def ray_settings(
    use_ray: bool,
    *,
    address: str | None,
    cpus: float,
    gpus: float,
    resources: Mapping[str, float],
) -> RaySettings:
    """Validate the Ray flags; they need `--executor ray`, which needs the `ray` package (one-line
    `UsageError`s, before anything runs)."""
    given = address is not None or bool(resources) or (cpus, gpus) != (DEFAULT_CPUS, DEFAULT_GPUS)
    if not use_ray:
        if given:
            raise UsageError(
                "--ray-address / --episode-cpus / --episode-gpus / --episode-resource need --executor ray"
            )
        return RaySettings()
    if cpus < 0 or gpus < 0:
        raise UsageError("--episode-cpus / --episode-gpus must be >= 0")
    for name, amount in resources.items():
        if not name or amount < 0:
            raise UsageError(f"--episode-resource {name}={amount}: give NAME=AMOUNT with AMOUNT >= 0")
    from evals.runner.ray_executor import require_ray

    require_ray()
    return RaySettings(address, float(cpus), float(gpus), dict(resources))

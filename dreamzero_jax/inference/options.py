"""The keyword options of :meth:`DreamZeroPolicy.from_config`, split once into typed settings.

A caller (the runner's policy options, the server, a benchmark) passes one flat mapping; ModelConfig and
DiTConfig field names override the model, the rest are the policy's own :class:`PolicyOptions`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.models.precision import PRECISIONS


@dataclass(frozen=True)
class PolicyOptions:
    """How a policy runs its model, as opposed to which model it is.

    ``cache_policy``: ``kv`` (KV-cached chunks) or ``recompute``; ``max_sessions``: concurrent sessions;
    ``dtype``: ``float32`` or ``bfloat16``; ``mesh``: a ``data:D,model:M`` spec, None for one device."""

    cache_policy: str = "kv"
    max_sessions: int = 1
    dtype: str = "float32"
    mesh: str | None = None

    def __post_init__(self) -> None:
        if self.dtype not in PRECISIONS:
            raise ValueError(f"unknown dtype {self.dtype!r}; valid: {', '.join(PRECISIONS)}")


def split_overrides(config: ModelConfig, overrides: Mapping[str, Any]) -> tuple[ModelConfig, PolicyOptions]:
    """``config`` with the model fields of ``overrides`` replaced, and the policy options among them.

    ValueError names any key that is neither a policy option nor a ModelConfig/DiTConfig field."""
    option_fields = {f.name for f in dataclasses.fields(PolicyOptions)}
    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    dit_fields = {f.name for f in dataclasses.fields(type(config.dit))}
    unknown = set(overrides) - option_fields - model_fields - dit_fields
    if unknown:
        raise ValueError(f"unknown DreamZero override(s) {sorted(unknown)}")
    options = {k: v for k, v in overrides.items() if k in option_fields}
    if "max_sessions" in options:
        options["max_sessions"] = int(options["max_sessions"])
    rest = {k: v for k, v in overrides.items() if k not in option_fields}  # never reach a config
    dit = dataclasses.replace(config.dit, **{k: v for k, v in rest.items() if k in dit_fields})
    model = {k: v for k, v in rest.items() if k in model_fields}
    return dataclasses.replace(config, dit=dit, **model), PolicyOptions(**options)

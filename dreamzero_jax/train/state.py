"""``TrainState``: everything a training step reads and writes (a pytree, saved whole by orbax)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax
from flax import nnx

from dreamzero_jax.train.config import TrainConfig


class TrainState(NamedTuple):
    params: nnx.State  # float32 master weights of the DiT (nnx.Param leaves)
    opt_state: Any  # optax.MultiSteps state
    ema: nnx.State | None  # EMA of params, None without EMA


def init_state(params: nnx.State, optimizer: optax.GradientTransformation, cfg: TrainConfig) -> TrainState:
    """Fresh optimizer state (and EMA = the initial params) for ``params``."""
    params = jax.tree.map(lambda x: x.astype("float32") if x.dtype.kind == "f" else x, params)
    ema = jax.tree.map(lambda x: x.copy(), params) if cfg.ema > 0 else None
    return TrainState(params, optimizer.init(params), ema)


def export_params(state: TrainState) -> nnx.State:
    """The weights a run ships: the EMA when the run keeps one, otherwise the raw parameters."""
    return state.ema if state.ema is not None else state.params

"""The optimizer of a :class:`TrainConfig`: AdamW with linear warm-up then cosine decay, global-norm
clipping, gradient accumulation (``optax.MultiSteps``), and the parameter EMA."""

from __future__ import annotations

import jax
import optax

from dreamzero_jax.train.config import TrainConfig


def lr_schedule(cfg: TrainConfig) -> optax.Schedule:
    """Linear 0 -> ``lr`` over ``warmup`` updates, then cosine to ``lr * final_lr_ratio`` at ``steps``."""
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.lr,
        warmup_steps=cfg.warmup,
        decay_steps=cfg.steps,
        end_value=cfg.lr * cfg.final_lr_ratio,
    )


def decay_mask(params):
    """Weight decay on arrays of ndim >= 2 (kernels, tables); biases and norm scales are not shrunk."""
    return jax.tree.map(lambda x: x.ndim >= 2, params)


def make_optimizer(cfg: TrainConfig) -> optax.MultiSteps:
    """AdamW(+clipping) that applies one update every ``grad_accum`` calls with the mean gradient."""
    parts = [optax.clip_by_global_norm(cfg.clip)] if cfg.clip > 0 else []
    parts.append(
        optax.adamw(lr_schedule(cfg), b1=cfg.b1, b2=cfg.b2, weight_decay=cfg.weight_decay, mask=decay_mask)
    )
    return optax.MultiSteps(optax.chain(*parts), every_k_schedule=cfg.grad_accum)


def update_ema(ema, params, decay: float, updated: jax.Array):
    """``decay * ema + (1 - decay) * params`` where an optimizer update happened, else ``ema``."""
    new = optax.incremental_update(params, ema, 1.0 - decay)
    return jax.tree.map(lambda n, o: jax.numpy.where(updated, n, o), new, ema)

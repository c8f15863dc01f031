"""Jitted pure training and evaluation steps over the split NNX state of the DiT.

The model is split once (``nnx.split(model, nnx.Param)``); the steps are pure functions of
``(TrainState | params, batch, image_features, [uncond], key)`` and compile once per batch shape, so a
run compiles exactly one train step and one eval step. Placing the inputs on a mesh (batch over
``'data'``, params replicated) makes the same functions data-parallel: XLA inserts the gradient
all-reduce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.inference.compile_counter import CompileCounter, counted_jit
from dreamzero_jax.models.dit import ActionInputs, CausalWanDiT
from dreamzero_jax.train.batch import TrainBatch
from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.flow import FlowDraw, noisy_inputs, sample_flow, training_scheduler
from dreamzero_jax.train.loss import LossTerms, drop_prompts, flow_matching_loss
from dreamzero_jax.train.optim import update_ema
from dreamzero_jax.train.state import TrainState


class StepMetrics(NamedTuple):
    loss: jax.Array
    video_loss: jax.Array
    action_loss: jax.Array
    grad_norm: jax.Array  # global norm of this micro-batch's gradient, before clipping


def _cast(tree, dtype):
    return jax.tree.map(lambda x: x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x, tree)


@dataclass(frozen=True)
class LossSpec:
    """What the loss needs besides arrays: the model structure and the run's numeric choices."""

    graphdef: nnx.GraphDef
    dit: DiTConfig
    compute_dtype: str = "float32"
    prompt_dropout: float = 0.0  # effective probability (0 when the config has no CFG)
    action_weight: float = 1.0  # weight of the action term (upstream: 1)

    def loss(self, params, batch: TrainBatch, image_features, key, uncond=None) -> LossTerms:
        """Flow-matching loss of ``params`` on ``batch`` with noise/timesteps/dropout drawn from ``key``."""
        k_flow, k_drop = jax.random.split(key)
        draw = sample_flow(k_flow, batch.latents.shape, batch.actions.shape, self.dit)
        context = jnp.asarray(batch.context, jnp.float32)
        if self.prompt_dropout > 0:
            context = drop_prompts(k_drop, context, uncond, self.prompt_dropout)
        return self.loss_of_draw(params, batch._replace(context=context), image_features, draw)

    def loss_of_draw(self, params, batch: TrainBatch, image_features, draw: FlowDraw) -> LossTerms:
        """The loss for given noise and timesteps (``batch.context`` used as is)."""
        noisy = noisy_inputs(training_scheduler(), batch.latents, batch.actions, draw)
        context = batch.context
        dtype = jnp.dtype(self.compute_dtype)
        c = lambda a: jnp.asarray(a).astype(dtype)  # noqa: E731
        model = nnx.merge(self.graphdef, _cast(params, dtype))
        video, action = model.forward_train(
            c(noisy.x),
            c(batch.y),
            noisy.timestep,
            c(context),
            c(image_features),
            c(batch.latents),
            ActionInputs(c(noisy.actions), noisy.timestep_action, c(batch.state)),
        )
        return flow_matching_loss(video, action, noisy, action_weight=self.action_weight)


def split_model(model: CausalWanDiT) -> tuple[nnx.GraphDef, nnx.State]:
    """(graphdef, float parameters); the DiT holds nothing but ``nnx.Param`` state."""
    return nnx.split(model, nnx.Param)


def make_train_step(
    spec: LossSpec, optimizer: optax.MultiSteps, cfg: TrainConfig, counter: CompileCounter | None = None
) -> Callable:
    """Jitted ``step(state, batch, image_features, uncond, key) -> (state, StepMetrics)``: one micro-batch;
    the optimizer applies an update every ``grad_accum`` calls (and the EMA follows it)."""

    def step(state: TrainState, batch: TrainBatch, image_features, uncond, key):
        def objective(params):
            terms = spec.loss(params, batch, image_features, key, uncond)
            return terms.loss, terms

        (_, terms), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        ema = state.ema
        if ema is not None:
            ema = update_ema(ema, params, cfg.ema, optimizer.has_updated(opt_state))
        metrics = StepMetrics(terms.loss, terms.video, terms.action, optax.tree.norm(grads))
        return TrainState(params, opt_state, ema), metrics

    return counted_jit(step, counter if counter is not None else CompileCounter(), "train_step")


def make_eval_step(spec: LossSpec, counter: CompileCounter | None = None) -> Callable:
    """Jitted ``evaluate(params, batch, image_features, key) -> LossTerms`` (no prompt dropout)."""
    plain = LossSpec(spec.graphdef, spec.dit, spec.compute_dtype, 0.0, spec.action_weight)

    def evaluate(params, batch: TrainBatch, image_features, key):
        return plain.loss(params, batch, image_features, key)

    return counted_jit(evaluate, counter if counter is not None else CompileCounter(), "eval_step")

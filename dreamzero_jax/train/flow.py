"""Flow-matching training inputs as upstream ``WANPolicyHead.forward`` forms them, as pure functions.

1. :func:`sample_flow` draws, from an explicit PRNG key, one training timestep index per latent frame
   (uniform over the scheduler's 1000 training entries), Gaussian video noise and Gaussian action noise.
2. :func:`block_timestep_ids` ties the indices to the block structure: latent frame 0 keeps its own
   index, every later frame takes the index of its block's first frame. :func:`action_timestep_ids`
   couples the actions to the video: action block ``b`` uses video block ``b``'s index. (Upstream's
   "coupled" mode: the *timesteps* are shared; the action noise is an independent draw in training.
   Only inference reuses the video noise for the actions.)
3. :func:`noisy_inputs` looks the indices up in the training :class:`FlowMatchScheduler` and forms the
   DiT inputs ``(1 - sigma) x + sigma * noise``, the targets ``noise - x`` and the loss weights.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.schedulers.flow_match import FlowMatchScheduler


def training_scheduler() -> FlowMatchScheduler:
    """The scheduler upstream's head trains with: shift 5, sigma_min 0, extra_one_step, 1000 entries."""
    return FlowMatchScheduler(1000, shift=5.0, sigma_min=0.0, extra_one_step=True, training=True)


class FlowDraw(NamedTuple):
    """The random part of one training step (all drawn by :func:`sample_flow`)."""

    timestep_id: jax.Array  # [B, F] int32 indices into the scheduler table, block-tied
    action_timestep_id: jax.Array  # [B, A] int32, action block b = video block b
    noise_video: jax.Array  # like the latents
    noise_action: jax.Array  # like the actions


class NoisyInputs(NamedTuple):
    """DiT inputs, flow targets and loss weights of one step."""

    x: jax.Array  # [B, F, h, w, C] noisy latents
    timestep: jax.Array  # [B, F] float timesteps
    actions: jax.Array  # [B, A, action_dim] noisy actions
    timestep_action: jax.Array  # [B, A]
    target_video: jax.Array  # noise - clean
    target_action: jax.Array
    weight_video: jax.Array  # [B, F] training weights
    weight_action: jax.Array  # [B, A]


def block_timestep_ids(ids: jax.Array, num_frame_per_block: int) -> jax.Array:
    """[B, F] raw indices -> frame 0 unchanged, each block's frames all set to the block's first index."""
    batch, frames = ids.shape
    if (frames - 1) % num_frame_per_block:
        raise ValueError(f"{frames} latent frames are not 1 + whole blocks of {num_frame_per_block}")
    first = ids[:, 1:].reshape(batch, -1, num_frame_per_block)[:, :, :1]
    blocks = jnp.broadcast_to(first, (batch, first.shape[1], num_frame_per_block)).reshape(batch, -1)
    return jnp.concatenate([ids[:, :1], blocks], axis=1)


def action_timestep_ids(ids: jax.Array, num_frame_per_block: int, num_action_per_block: int) -> jax.Array:
    """Block-tied video indices [B, F] -> per-action indices [B, num_blocks * num_action_per_block]."""
    per_block = ids[:, 1::num_frame_per_block]
    return jnp.repeat(per_block, num_action_per_block, axis=1)


def sample_flow(
    key: jax.Array,
    latents_shape: tuple,
    actions_shape: tuple,
    dit: DiTConfig,
    num_train_timesteps: int = 1000,
) -> FlowDraw:
    """Draw timestep indices (uniform, block-tied) and independent video / action noise from ``key``."""
    k_t, k_v, k_a = jax.random.split(key, 3)
    raw = jax.random.randint(k_t, latents_shape[:2], 0, num_train_timesteps, dtype=jnp.int32)
    ids = block_timestep_ids(raw, dit.num_frame_per_block)
    num_blocks = (latents_shape[1] - 1) // dit.num_frame_per_block
    if actions_shape[1] != num_blocks * dit.num_action_per_block:
        raise ValueError(
            f"{actions_shape[1]} actions for {num_blocks} blocks of {dit.num_action_per_block} actions"
        )
    action_ids = action_timestep_ids(ids, dit.num_frame_per_block, dit.num_action_per_block)
    return FlowDraw(
        ids,
        action_ids,
        jax.random.normal(k_v, latents_shape, jnp.float32),
        jax.random.normal(k_a, actions_shape, jnp.float32),
    )


def _mix(clean: jax.Array, noise: jax.Array, sigma: jax.Array) -> jax.Array:
    sigma = sigma.reshape(sigma.shape + (1,) * (clean.ndim - sigma.ndim))
    return (1 - sigma) * clean + sigma * noise


def noisy_inputs(
    scheduler: FlowMatchScheduler, latents: jax.Array, actions: jax.Array, draw: FlowDraw
) -> NoisyInputs:
    """Noisy latents/actions, their timesteps, flow targets and training weights for ``draw``."""
    latents = jnp.asarray(latents, jnp.float32)
    actions = jnp.asarray(actions, jnp.float32)
    ids, action_ids = draw.timestep_id, draw.action_timestep_id
    return NoisyInputs(
        x=_mix(latents, draw.noise_video, scheduler.sigmas[ids]),
        timestep=scheduler.timesteps[ids],
        actions=_mix(actions, draw.noise_action, scheduler.sigmas[action_ids]),
        timestep_action=scheduler.timesteps[action_ids],
        target_video=scheduler.training_target(latents, draw.noise_video),
        target_action=scheduler.training_target(actions, draw.noise_action),
        weight_video=scheduler.weights[ids],
        weight_action=scheduler.weights[action_ids],
    )

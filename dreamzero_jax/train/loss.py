"""The flow-matching loss of upstream ``WANPolicyHead.forward`` and prompt dropout, as pure functions.

Video term: squared error averaged over channels and pixels per (sample, latent frame), times that
frame's training weight, averaged over samples and frames (frame 0 included: it is noised at its own
timestep). Action term: squared error averaged over action dims per (sample, action token), times the
token's training weight, averaged. The loss is their sum (``action_weight`` 1, as upstream; a larger weight
spends more of a small model on its actions).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from dreamzero_jax.train.flow import NoisyInputs


class LossTerms(NamedTuple):
    loss: jax.Array  # video + action
    video: jax.Array
    action: jax.Array


def flow_matching_loss(
    video_flow: jax.Array,
    action_flow: jax.Array,
    noisy: NoisyInputs,
    action_mask: jax.Array | None = None,
    action_weight: float = 1.0,
) -> LossTerms:
    """Weighted flow-matching loss of the DiT outputs against ``noisy``'s targets.

    ``video_flow`` [B, F, h, w, C], ``action_flow`` [B, A, D]; ``action_mask`` (broadcastable to
    [B, A, D], e.g. padded action dims = 0) zeroes terms like upstream's ``action_mask`` does (the mean
    still divides by D, as upstream's).
    """
    err_video = jnp.square(video_flow.astype(jnp.float32) - noisy.target_video)
    per_frame = err_video.mean(axis=(2, 3, 4))  # [B, F]
    video = (per_frame * noisy.weight_video).mean()
    err_action = jnp.square(action_flow.astype(jnp.float32) - noisy.target_action)
    if action_mask is not None:
        err_action = err_action * action_mask
    action = (err_action.mean(axis=2) * noisy.weight_action).mean()
    return LossTerms(video + action_weight * action, video, action)


def drop_prompts(key: jax.Array, context: jax.Array, uncond: jax.Array, p: float) -> jax.Array:
    """Replace each sample's prompt embedding by ``uncond`` [1, L, D] with probability ``p``."""
    drop = jax.random.bernoulli(key, p, (context.shape[0],))
    return jnp.where(drop[:, None, None], jnp.asarray(uncond, context.dtype), context)

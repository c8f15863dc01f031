"""Open-loop action error on validation windows, through the policy's real KV-cached sampler.

For each window the sampler does what :class:`~dreamzero_jax.inference.policy.DreamZeroPolicy` does from a
reset: fill the cache with latent frame 0, denoise the first block's actions, then for every further block
fill the cache with the block the policy would have observed and denoise the next one. The chunk noise is
the policy's (drawn from a fixed seed), so the error measures the model, not the noise draw.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.inference.episode import chunk_noise
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.train.batch import TrainBatch

NOISE_SEED = 0


def sampler_actions(
    model: CausalWanDiT, config: ModelConfig, image_features: np.ndarray, uncond_context: np.ndarray | None
) -> Callable[[object, TrainBatch], np.ndarray]:
    """``eval_actions(params, batch) -> [B, blocks * A, action_dim]`` for the training loop's validation."""
    dit = config.dit
    sampler = ChunkSampler(
        model,
        SamplerConfig(
            num_steps=config.num_inference_steps,
            shift=config.sigma_shift,
            cfg_scale=config.cfg_scale,
            dit_cache=config.dit_cache,
            num_dit_steps=config.num_dit_steps,
        ),
    )
    clip = jnp.asarray(image_features)
    nfpb, blocks = dit.num_frame_per_block, dit.max_chunk_size

    def window(params, batch: TrainBatch, i: int) -> np.ndarray:
        latents = jnp.asarray(batch.latents[i : i + 1])
        context = jnp.asarray(batch.context[i : i + 1])
        if config.cfg_scale != 1.0:
            context = jnp.concatenate([context, jnp.asarray(uncond_context)])
        cond = Conditioning(context, clip, jnp.asarray(batch.y[i : i + 1]))
        noise_video, noise_action = chunk_noise(config, NOISE_SEED, latents.shape[2:4])
        session = sampler.fill(
            params, sampler.new_session(latents.shape[2:4]), latents[:, :1], cond, jnp.int32(0)
        )
        out = []
        for j in range(blocks):
            start = 1 + j * nfpb
            state = jnp.asarray(batch.state[i : i + 1, j : j + 1])
            chunk = sampler.denoise(
                params, session, cond, ChunkInputs(state, noise_video, noise_action), jnp.int32(start)
            )
            out.append(np.asarray(chunk.action[0]))
            if j + 1 < blocks:
                session = sampler.fill(
                    params, session, latents[:, start : start + nfpb], cond, jnp.int32(start)
                )
        return np.concatenate(out)

    def eval_actions(params, batch: TrainBatch) -> np.ndarray:
        return np.stack([window(params, batch, i) for i in range(len(batch.actions))])

    return eval_actions

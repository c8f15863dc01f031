"""Random inputs of one sampler session on the tiny DiT, shared by the single-session and batched tests."""

from __future__ import annotations

import jax

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.inference.sampler import ChunkInputs, Conditioning

HW = (8, 12)  # latent height, width
CHUNKS = 4  # max_chunk_size 4: a 9-frame window holds 4 chunks before the head resets


def session_inputs(cfg: DiTConfig, seed: int):
    """(conditioning, chunk inputs, observed latents per chunk) of one session, all drawn from ``seed``: its
    own prompt embedding, ys, state, noise and observed latents."""
    k = iter(jax.random.split(jax.random.key(seed), 16))
    n = jax.random.normal
    cond = Conditioning(
        n(next(k), (2, cfg.text_len, cfg.text_dim)), n(next(k), (1, 257, 1280)), n(next(k), (1, 5, *HW, 20))
    )
    chunk = ChunkInputs(
        n(next(k), (1, 1, cfg.max_state_dim)), n(next(k), (1, 2, *HW, 16)), n(next(k), (1, 4, 8))
    )
    observed = [n(next(k), (1, 1, *HW, 16))] + [n(next(k), (1, 2, *HW, 16)) for _ in range(CHUNKS - 1)]
    return cond, chunk, observed

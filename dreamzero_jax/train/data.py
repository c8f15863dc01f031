"""Deterministic sample order: one seeded permutation per epoch, read as an endless stream.

The stream position (samples consumed) is the only data state a run has; a checkpoint stores it and a
resumed run continues from it, so resumed and uninterrupted runs see the same batches.
"""

from __future__ import annotations

import jax
import numpy as np


def epoch_permutation(seed: int, epoch: int, n: int) -> np.ndarray:
    """The order of the ``n`` samples in ``epoch`` (a function of ``(seed, epoch)`` only)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def stream_indices(seed: int, n: int, position: int, size: int) -> np.ndarray:
    """Sample indices at stream positions ``position .. position + size - 1`` (crossing epochs)."""
    if n < 1:
        raise ValueError("no samples to train on")
    out = []
    while size > 0:
        epoch, offset = divmod(position, n)
        take = min(size, n - offset)
        out.append(epoch_permutation(seed, epoch, n)[offset : offset + take])
        position, size = position + take, size - take
    return np.concatenate(out)


def step_key(seed: int, step: int, micro: int) -> jax.Array:
    """PRNG key of micro-batch ``micro`` of optimizer step ``step`` (noise, timesteps, prompt dropout)."""
    return jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), step), micro)


def eval_key(seed: int) -> jax.Array:
    """The fixed key of every validation pass (the same noise each time, so passes are comparable)."""
    return jax.random.fold_in(jax.random.key(seed), 2**31 - 1)

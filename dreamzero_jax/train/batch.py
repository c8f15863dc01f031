"""The contract between the sample builder and the training loop: one batch, and a set of samples."""

from __future__ import annotations

from typing import NamedTuple, Protocol

import jax
import numpy as np


class TrainBatch(NamedTuple):
    """One batch (numpy or jax arrays), channels-last like the DiT.

    ``F = 1 + num_blocks * num_frame_per_block`` latent frames; ``A = num_blocks * num_action_per_block``.
    """

    latents: jax.Array  # [B, F, h, w, 16] clean video latents
    y: jax.Array  # [B, F, h, w, 20] image conditioning (4 mask + 16 first-frame latent channels)
    context: jax.Array  # [B, text_len, text_dim] prompt embeddings (umT5 output)
    actions: jax.Array  # [B, A, action_dim] clean actions in [-1, 1]
    state: jax.Array  # [B, num_blocks * num_state_per_block, max_state_dim] normalised state


class SampleSet(Protocol):
    """Indexable training samples. ``image_features`` [1, 257, 1280] is shared by every sample (the
    DiT projects it once per batch); ``uncond_context`` [1, text_len, text_dim] is the negative-prompt
    embedding that prompt dropout substitutes (None when the config has no classifier-free guidance)."""

    image_features: np.ndarray
    uncond_context: np.ndarray | None

    def __len__(self) -> int: ...

    def batch(self, indices: np.ndarray) -> TrainBatch: ...

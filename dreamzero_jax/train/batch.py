"""What a training step consumes: :class:`TrainBatch`, and the :class:`SampleSet` protocol that yields it."""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np


class TrainBatch(NamedTuple):
    """Channels-last like the DiT. ``F = 1 + blocks * num_frame_per_block`` latent frames."""

    latents: np.ndarray  # [B, F, h, w, 16] clean video latents
    y: np.ndarray  # [B, F, h, w, 20] image conditioning (4 mask + 16 first-frame latent channels)
    context: np.ndarray  # [B, text_len, text_dim] prompt embeddings
    actions: np.ndarray  # [B, blocks * num_action_per_block, action_dim] clean actions in [-1, 1]
    state: np.ndarray  # [B, blocks * num_state_per_block, max_state_dim] normalised state


class SampleSet(Protocol):
    """Indexable training samples sharing one fixed image-feature array [1, 257, 1280]."""

    image_features: np.ndarray

    def __len__(self) -> int: ...

    def batch(self, indices: np.ndarray) -> TrainBatch: ...

"""Synthetic samples of a config's shapes: for tests, the benchmark and smoke runs without a dataset.

Each sample's latents, actions and state derive from one random "scene" vector, so a model can learn
them (the loss of a few fixed samples falls when training works).
"""

from __future__ import annotations

import numpy as np

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS
from dreamzero_jax.train.batch import TrainBatch


def batch_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Per-sample shapes of a :class:`TrainBatch` field for ``config`` (latents of the 2x2 view canvas)."""
    dit = config.dit
    frames = config.latent_frames
    blocks = (frames - 1) // dit.num_frame_per_block
    h, w = 2 * config.view_size[0] // 8, 2 * config.view_size[1] // 8
    return {
        "latents": (frames, h, w, 16),
        "y": (frames, h, w, 20),
        "context": (dit.text_len, dit.text_dim),
        "actions": (blocks * dit.num_action_per_block, dit.action_dim),
        "state": (blocks * dit.num_state_per_block, dit.max_state_dim),
    }


class SyntheticSampleSet:
    """``n`` fixed random samples with the shapes of ``config`` (implements :class:`SampleSet`)."""

    def __init__(self, config: ModelConfig, n: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        shapes = batch_shapes(config)
        scene = rng.normal(size=(n, 8)).astype(np.float32)

        def from_scene(shape, scale=1.0):
            proj = rng.normal(size=(8, int(np.prod(shape)))).astype(np.float32) / np.sqrt(8)
            return (scale * scene @ proj).reshape(n, *shape)

        latents = from_scene(shapes["latents"])
        y = np.zeros((n, *shapes["y"]), np.float32)
        y[:, 0, ..., :4] = 1.0  # mask channels: the first frame is given
        y[:, 0, ..., 4:] = latents[:, 0]
        self._arrays = TrainBatch(
            latents=latents,
            y=y,
            context=rng.normal(size=(n, *shapes["context"])).astype(np.float32),
            actions=np.tanh(from_scene(shapes["actions"])),
            state=from_scene(shapes["state"], 0.5),
        )
        self.image_features = rng.normal(size=(1, CLIP_TOKENS, CLIP_DIM)).astype(np.float32)
        self.uncond_context = np.zeros((1, *shapes["context"]), np.float32)

    def __len__(self) -> int:
        return self._arrays.latents.shape[0]

    def batch(self, indices: np.ndarray) -> TrainBatch:
        return TrainBatch(*(a[np.asarray(indices)] for a in self._arrays))

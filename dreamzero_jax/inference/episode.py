"""Host-side state of one DreamZero session (episode) and the per-request steps around the batched model call.

A session's model-side state (K/V window, history, conditioning) lives in its slot of the
:class:`~.batched.SlotPool`; what stays on the host is here: the instruction, the seed and its chunk
noise, the DROID frame buffer, the current prompt and the ``start_frame`` of the sequence.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.inference.frames import FrameBuffer


def chunk_noise(config: ModelConfig, seed: int, latent_hw: tuple[int, int]) -> tuple[jax.Array, jax.Array]:
    """One chunk's (video [1, nfpb, h, w, C], action [1, A, action_dim]) noise; the action noise is the
    first values of the video noise in upstream's [B, C, F, H, W] layout, as upstream draws it; both
    scaled by ``config.noise_scale``."""
    dit, nfpb = config.dit, config.dit.num_frame_per_block
    video = jax.random.normal(jax.random.key(seed), (1, dit.out_dim, nfpb, *latent_hw))  # upstream layout
    video = video * config.noise_scale
    n_action = config.action_horizon * dit.action_dim
    action = video.reshape(-1)[:n_action].reshape(1, config.action_horizon, dit.action_dim)
    return jnp.moveaxis(video, 1, -1), action


class SessionRequest(NamedTuple):
    """One session's chunk request (structurally what ``evals.contract.sessions.SessionRequest`` is)."""

    session: str
    obs: Any


class SessionLimitError(RuntimeError):
    """All session slots are in use (end a session first, or build the policy with more ``max_sessions``)."""


@dataclasses.dataclass
class EpisodeState:
    """One session: ``slot`` in the pool, its frames and where its sequence stands."""

    instruction: str
    seed: int
    slot: int
    frames: FrameBuffer
    prompt: str | None = None
    start_frame: int = 0  # 0: the next call restarts the sequence (reset) at frame 0
    chunks: int = 0
    noise: tuple | None = None  # (video, action) chunk noise, drawn once from the seed

    def push(self, obs: dict, prompt: str, local_attn_size: int) -> np.ndarray:
        """Add the observation's frames; restart the sequence on a new prompt, a 1-frame clip (the
        episode's first call) or a full attention window. Returns this call's clip."""
        frames = self.frames.push(obs)
        if prompt != self.prompt or frames.shape[0] == 1 or self.start_frame >= local_attn_size:
            self.prompt, self.start_frame = prompt, 0
        return frames

    @property
    def resetting(self) -> bool:
        return self.start_frame == 0


def free_slot(sessions: dict[str, EpisodeState], capacity: int) -> int:
    """The lowest slot no session holds; :class:`SessionLimitError` when all ``capacity`` are taken."""
    taken = {s.slot for s in sessions.values()}
    for slot in range(capacity):
        if slot not in taken:
            return slot
    raise SessionLimitError(f"all {capacity} DreamZero session slots are in use")

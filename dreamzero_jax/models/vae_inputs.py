"""Frame preparation in front of the VAE, as DreamZero's action head does it (channels-last video)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def prepare_observation_frames(frames: jax.Array, num_frame_per_block: int = 2) -> jax.Array:
    """Stretch a real-world observation chunk so the VAE yields ``1 + num_frame_per_block`` latent frames.

    Mirrors the branch of upstream ``lazy_joint_video_action`` taken after the first call
    (``current_start_frame != 0``) with no latent video given, on ``frames [B, T, H, W, C]``:

    * ``(T - 1) // 4 == n``: the frames are used as they are;
    * ``T // 4 != n``: every frame is repeated ``n // (T // 4)`` times in place (``repeat_interleave``,
      not tiling), then the first frame is prepended;
    * otherwise (``T // 4 == n``): the first frame is prepended.

    With DROID's 4 new frames and ``n = 2``: 4 -> 8 -> 9 frames -> 3 latent frames, of which the head keeps
    the last ``n`` for its KV-cache pass. Fewer than 4 frames is an error here (upstream divides by zero).
    """
    t = frames.shape[1]
    if (t - 1) // 4 == num_frame_per_block:
        return frames
    if t // 4 == 0:
        raise ValueError(f"an observation chunk needs at least 4 frames, got {t}")
    if t // 4 != num_frame_per_block:
        frames = jnp.repeat(frames, num_frame_per_block // (t // 4), axis=1)
    return jnp.concatenate([frames[:, :1], frames], axis=1)


def from_torch_video(video) -> jax.Array:
    """Upstream layout ``[B, C, T, H, W]`` -> ours ``[B, T, H, W, C]``."""
    return jnp.moveaxis(jnp.asarray(video), 1, -1)


def to_torch_video(video) -> jax.Array:
    """Ours ``[B, T, H, W, C]`` -> upstream layout ``[B, C, T, H, W]``."""
    return jnp.moveaxis(jnp.asarray(video), -1, 1)

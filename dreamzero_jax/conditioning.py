"""Conditioning glue of the DreamZero head: the i2v tensor `y` and the prompt embedding.

Layouts are channels-last: videos [B, T, H, W, C] in [-1, 1], VAE latents [B, T', h, w, 16], and
`y` [B, T', h, w, 20] with the 4 mask channels first (upstream's [B, 20, T', h, w] moved to the end).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jax.numpy as jnp
from flax import nnx

Y_MASK_CHANNELS = 4


def first_frame_mask(
    batch: int, latent_frames: int, height: int, width: int, dtype=jnp.float32
) -> jnp.ndarray:
    """The 4 mask channels of `y`: [B, T', h, w, 4], 1 on latent frame 0 (the given image), 0 elsewhere."""
    frame_is_given = (jnp.arange(latent_frames) == 0).astype(dtype)
    return jnp.broadcast_to(
        frame_is_given[None, :, None, None, None], (batch, latent_frames, height, width, Y_MASK_CHANNELS)
    )


def y_from_latent(latent: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Mask + latent -> (`y` [B, T', h, w, 4 + C], first-frame latent [B, 1, h, w, C]).

    ``latent`` is the VAE encoding of [first frame, num_frames - 1 black frames] (`first_frame_clip`).
    The first-frame latent is what the head feeds to its initial KV-cache pass (upstream `new_image`).
    """
    b, t, h, w, _ = latent.shape
    mask = first_frame_mask(b, t, h, w, latent.dtype)
    return jnp.concatenate([mask, latent], axis=-1), latent[:, :1]


def first_frame_clip(first_frame: jnp.ndarray, num_frames: int) -> jnp.ndarray:
    """[B, H, W, C] image in [-1, 1] -> [B, num_frames, H, W, C]: the image, then all-zero frames (mid-grey in [-1, 1])."""
    black = jnp.zeros((first_frame.shape[0], num_frames - 1, *first_frame.shape[1:]), first_frame.dtype)
    return jnp.concatenate([first_frame[:, None], black], axis=1)


def build_y(
    first_frame: jnp.ndarray, num_frames: int, encode_video: Callable[[jnp.ndarray], jnp.ndarray]
) -> tuple[jnp.ndarray, jnp.ndarray]:
    """`y` and the first-frame latent as `WANPolicyHead.encode_image` builds them (its VAE half).

    ``encode_video`` maps a [B, T, H, W, 3] clip in [-1, 1] to the normalised latent [B, T', h, w, 16]
    (e.g. ``vae.encode``). Upstream pads with zeros, which in [-1, 1] pixels are mid-grey, not black; the
    latents of those frames are not zero.
    """
    return y_from_latent(encode_video(first_frame_clip(first_frame, num_frames)))


def zero_after_shortest(emb: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Zero ``emb`` [B, L, D] at positions >= the *shortest* real length in the batch, for every sample.

    Upstream runs ``for v in seq_lens: prompt_emb[:, v:] = 0``, which zeroes every sample from each length;
    we match it. Inference encodes one prompt per call, where this is the usual per-sample masking.
    """
    shortest = jnp.min(jnp.sum(mask > 0, axis=1))
    keep = jnp.arange(emb.shape[1]) < shortest
    return jnp.where(keep[None, :, None], emb, jnp.zeros((), emb.dtype))


def encode_prompt(encoder: nnx.Module, ids: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """`WANPolicyHead.encode_prompt`: umT5 output cast to bfloat16, then zeroed past the real length."""
    # bfloat16 as upstream: the DiT's text context is built from bf16 embeddings.
    return zero_after_shortest(encoder(ids, mask).astype(jnp.bfloat16), mask)


@nnx.jit
def _encode_prompt_jit(encoder: nnx.Module, ids: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    return encode_prompt(encoder, ids, mask)


# Upstream `collate` wraps every DROID instruction in this description of the camera layout.
_DROID_PREFIX = "A multi-view video shows that a robot "
_DROID_LAYOUT = (
    " The video is split into three views: The top view shows the camera view from the robot's wrist, the "
    "bottom-left view shows the camera view from the left exterior camera, and the bottom-right view shows "
    "the camera view from the right exterior camera. During training, one of the two bottom exterior views "
    "may be a black screen (dropped view). The robot "
)


# Upstream's negative prompt (``dreamzero_cotrain.py``: the Wan2.1 default), used by the uncond branch.
NEGATIVE_PROMPT = (
    "Vibrant colors, overexposed, static, blurry details, text, subtitles, style, artwork, painting, image, "
    "still, grayscale, dull, worst quality, low quality, JPEG artifacts, ugly, mutilated, extra fingers, bad "
    "hands, bad face, deformed, disfigured, mutated limbs, fused fingers, stagnant image, cluttered background, "
    "three legs, many people in the background, walking backwards."
)


def droid_prompt(instruction: str) -> str:
    """The text DreamZero-DROID was trained on for ``instruction`` (lower-cased, stated twice)."""
    task = instruction.lower()
    return _DROID_PREFIX + task + _DROID_LAYOUT + task


@dataclass
class PromptCache:
    """Prompt text -> embedding [1, text_len, dim] (bf16), computed once per distinct prompt.

    ``tokenizer(texts) -> (ids, mask)`` pads to the encoder's text length. Each prompt is encoded alone
    (batch 1), as the head does at inference, so the zeroing is per prompt.
    """

    tokenizer: Callable
    encoder: nnx.Module
    _store: dict[str, jnp.ndarray] = field(default_factory=dict, repr=False)

    def __call__(self, prompt: str) -> jnp.ndarray:
        if prompt not in self._store:
            ids, mask = self.tokenizer([prompt])
            self._store[prompt] = _encode_prompt_jit(self.encoder, jnp.asarray(ids), jnp.asarray(mask))
        return self._store[prompt]

    def __len__(self) -> int:
        return len(self._store)

    def clear(self) -> None:
        self._store.clear()

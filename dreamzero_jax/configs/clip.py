"""CLIP vision-tower configurations (upstream `clip_xlm_roberta_vit_h_14` vision kwargs)."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp

# open-CLIP normalisation constants, applied after mapping [-1, 1] pixels to [0, 1].
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class CLIPConfig:
    """Shape of the open-CLIP ViT vision tower (token pooling, pre-norm, no patch bias)."""

    dim: int
    num_heads: int
    num_layers: int
    image_size: int = 224
    patch_size: int = 14
    mlp_ratio: int = 4
    activation: str = "gelu"  # key of dreamzero_jax.models.clip.ACTIVATIONS
    norm_eps: float = 1e-5
    dtype: jnp.dtype = jnp.float32
    param_dtype: jnp.dtype = jnp.float32

    @property
    def grid(self) -> int:
        return self.image_size // self.patch_size

    @property
    def num_tokens(self) -> int:
        return self.grid * self.grid + 1  # class token + patches

    @property
    def used_blocks(self) -> int:
        # DreamZero reads the hidden states after all blocks but the last (upstream `use_31_block=True`).
        return self.num_layers - 1


# Fixture size (`dreamzero_tiny_encoders/clip_config.json`): 64 wide but still 224 px -> 257 tokens.
TINY = CLIPConfig(dim=64, num_heads=4, num_layers=3)
# open-CLIP XLM-RoBERTa ViT-H/14 vision tower (1280 wide, 32 blocks; DreamZero uses 31 of them).
DROID_14B = CLIPConfig(dim=1280, num_heads=16, num_layers=32)

CLIP_CONFIGS: dict[str, CLIPConfig] = {"tiny": TINY, "droid_14b": DROID_14B}

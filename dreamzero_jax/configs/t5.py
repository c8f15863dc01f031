"""umT5 encoder configurations (upstream `WanTextEncoder` kwargs)."""

from __future__ import annotations

from dataclasses import dataclass

import jax.numpy as jnp


@dataclass(frozen=True)
class T5Config:
    """Shape of a umT5 encoder. Every layer owns its relative-position table (umT5, not T5's shared one)."""

    vocab: int
    dim: int
    dim_attn: int
    dim_ffn: int
    num_heads: int
    num_layers: int
    num_buckets: int = 32
    max_distance: int = 128  # hard-coded default of upstream's T5RelativeEmbedding
    text_len: int = 512  # tokenizer max_length; every prompt is padded to it
    norm_eps: float = 1e-6
    pad_id: int = 0
    eos_id: int = 1
    dtype: jnp.dtype = jnp.float32  # computation dtype
    param_dtype: jnp.dtype = jnp.float32

    @property
    def head_dim(self) -> int:
        return self.dim_attn // self.num_heads


# Fixture size (`dreamzero_tiny_encoders/t5_config.json`): width 48 = the tiny DiT's text_dim.
TINY = T5Config(vocab=256, dim=48, dim_attn=48, dim_ffn=120, num_heads=4, num_layers=2)
# umT5-XXL encoder as loaded by DreamZero-DROID (models_t5_umt5-xxl-enc-bf16.pth).
DROID_14B = T5Config(vocab=256384, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64, num_layers=24)

T5_CONFIGS: dict[str, T5Config] = {"tiny": TINY, "droid_14b": DROID_14B}

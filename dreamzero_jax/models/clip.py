"""open-CLIP ViT vision tower (upstream `VisionTransformer` inside `XLMRobertaCLIP`) and `encode_image`.

DreamZero conditions its DiT on the hidden states of the first frame after all blocks but the last
(upstream `use_31_block=True`): class token + 16x16 patch tokens = 257 tokens, without post_norm or head,
which are therefore not part of this module (the conversion rules drop them explicitly).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.clip import CLIP_MEAN, CLIP_STD, CLIPConfig
from dreamzero_jax.models.bicubic import resize_bicubic

ACTIVATIONS: dict[str, Callable[[jnp.ndarray], jnp.ndarray]] = {
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),  # nn.GELU(): exact erf form
    "quick_gelu": lambda x: x * jax.nn.sigmoid(1.702 * x),
}


def preprocess(images: jnp.ndarray, image_size: int) -> jnp.ndarray:
    """[B, H, W, 3] images in [-1, 1] -> [B, size, size, 3] CLIP input, as upstream `encode_image` does.

    Bicubic resize of the [-1, 1] image (PyTorch kernel), then ``x * 0.5 + 0.5`` and ``(x - mean) / std``.
    """
    x = resize_bicubic(images.astype(jnp.float32), image_size, image_size)
    x = x * 0.5 + 0.5
    return (x - jnp.asarray(CLIP_MEAN, jnp.float32)) / jnp.asarray(CLIP_STD, jnp.float32)


def _linear(din: int, dout: int, cfg: CLIPConfig, rngs: nnx.Rngs) -> nnx.Linear:
    return nnx.Linear(din, dout, dtype=cfg.dtype, param_dtype=cfg.param_dtype, rngs=rngs)


def _layer_norm(cfg: CLIPConfig, rngs: nnx.Rngs) -> nnx.LayerNorm:
    return nnx.LayerNorm(
        cfg.dim, epsilon=cfg.norm_eps, dtype=cfg.dtype, param_dtype=cfg.param_dtype, rngs=rngs
    )


class CLIPAttention(nnx.Module):
    """Self-attention with a fused qkv projection, heads laid out ``(n d)``, scale 1/sqrt(head_dim)."""

    def __init__(self, cfg: CLIPConfig, *, rngs: nnx.Rngs):
        self.num_heads = cfg.num_heads
        self.to_qkv = _linear(cfg.dim, 3 * cfg.dim, cfg, rngs)
        self.proj = _linear(cfg.dim, cfg.dim, cfg, rngs)

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        b, n, c = x.shape
        q, k, v = jnp.split(self.to_qkv(x), 3, axis=-1)
        q, k, v = (t.reshape(b, n, self.num_heads, -1) for t in (q, k, v))
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
        weights = jax.nn.softmax(logits.astype(jnp.float32), axis=-1).astype(v.dtype)
        return self.proj(jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, n, c))


class CLIPMlp(nnx.Module):
    """``fc2(act(fc1(x)))`` with hidden width ``mlp_ratio * dim`` (upstream `mlp.0` / `mlp.2`)."""

    def __init__(self, cfg: CLIPConfig, *, rngs: nnx.Rngs):
        self.activation = ACTIVATIONS[cfg.activation]
        self.fc1 = _linear(cfg.dim, cfg.mlp_ratio * cfg.dim, cfg, rngs)
        self.fc2 = _linear(cfg.mlp_ratio * cfg.dim, cfg.dim, cfg, rngs)

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        return self.fc2(self.activation(self.fc1(x)))


class CLIPBlock(nnx.Module):
    """Pre-norm residual block: ``x + attn(norm1 x)``, then ``x + mlp(norm2 x)``."""

    def __init__(self, cfg: CLIPConfig, *, rngs: nnx.Rngs):
        self.norm1 = _layer_norm(cfg, rngs)
        self.attn = CLIPAttention(cfg, rngs=rngs)
        self.norm2 = _layer_norm(cfg, rngs)
        self.mlp = CLIPMlp(cfg, rngs=rngs)

    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class CLIPVision(nnx.Module):
    """Preprocessed pixels [B, 224, 224, 3] -> hidden states [B, 257, dim]."""

    def __init__(self, config: CLIPConfig, *, rngs: nnx.Rngs):
        if config.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {config.activation!r}; choose one of {sorted(ACTIVATIONS)}")
        self.config = config
        p, dim = config.patch_size, config.dim
        # pre_norm=True in upstream means the patch conv has no bias.
        self.patch_embedding = nnx.Conv(
            3, dim, (p, p), strides=(p, p), padding="VALID", use_bias=False,
            dtype=config.dtype, param_dtype=config.param_dtype, rngs=rngs,
        )  # fmt: skip
        init = nnx.initializers.normal(dim**-0.5)
        self.cls_embedding = nnx.Param(init(rngs.params(), (1, 1, dim), config.param_dtype))
        self.pos_embedding = nnx.Param(init(rngs.params(), (1, config.num_tokens, dim), config.param_dtype))
        self.pre_norm = _layer_norm(config, rngs)
        self.blocks = nnx.List([CLIPBlock(config, rngs=rngs) for _ in range(config.num_layers)])

    def embed(self, pixels: jnp.ndarray) -> jnp.ndarray:
        """Patch tokens (row-major), class token first, plus position embedding, then pre_norm."""
        x = self.patch_embedding(pixels.astype(self.config.dtype))
        x = x.reshape(x.shape[0], -1, x.shape[-1])
        cls = jnp.broadcast_to(self.cls_embedding[...].astype(x.dtype), (x.shape[0], 1, x.shape[-1]))
        x = jnp.concatenate([cls, x], axis=1) + self.pos_embedding[...].astype(x.dtype)
        return self.pre_norm(x)

    def __call__(self, pixels: jnp.ndarray, num_blocks: int | None = None) -> jnp.ndarray:
        """Hidden states after the first ``num_blocks`` blocks (default: all but the last, as DreamZero)."""
        x = self.embed(pixels)
        for block in self.blocks[: self.config.used_blocks if num_blocks is None else num_blocks]:
            x = block(x)
        return x


def encode_image(model: CLIPVision, images: jnp.ndarray) -> jnp.ndarray:
    """`WanImageEncoder.encode_image`: [B, H, W, 3] images in [-1, 1] (any size) -> tokens [B, 257, dim]."""
    return model(preprocess(images, model.config.image_size))

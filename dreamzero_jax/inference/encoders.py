"""The policy's encoders as jitted functions of arrays: prompt -> umT5 context, image -> CLIP tokens,
clip -> VAE latents. Configs without a text or image encoder (``bench``) get deterministic random
stand-ins of the right shape, so the DiT and sampler can still be exercised end to end.

Every function is ``counted_jit``-ed over the module's split state (see :func:`module_fn`), so the
policy's compile counter covers the encoders too.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.conditioning import encode_prompt
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS
from dreamzero_jax.inference.compile_counter import CompileCounter, counted_jit
from dreamzero_jax.models.clip import encode_image


def module_fn(module: nnx.Module, fn: Callable, counter: CompileCounter, name: str) -> Callable:
    """``fn(module, *args)`` jitted over the module's state (split once; low per-call overhead)."""
    graphdef, state = nnx.split(module)
    jitted = counted_jit(lambda st, *args: fn(nnx.merge(graphdef, st), *args), counter, name)
    return lambda *args: jitted(state, *args)


class TextEncoder:
    """Prompt -> context [1, text_len, text_dim] (bf16 like upstream), cached per prompt string."""

    def __init__(
        self, tokenizer, encoder: nnx.Module | None, text_len: int, text_dim: int, counter: CompileCounter
    ):
        self.tokenizer, self.text_len, self.text_dim = tokenizer, text_len, text_dim
        self._encode = module_fn(encoder, encode_prompt, counter, "text") if encoder is not None else None
        self._store: dict[str, jax.Array] = {}

    def __call__(self, prompt: str) -> jax.Array:
        if prompt not in self._store:
            if self._encode is None:
                # no text encoder in this config: a fixed random embedding per prompt (crc32 seeds it)
                key = jax.random.key(zlib.crc32(prompt.encode()))
                emb = jax.random.normal(key, (1, self.text_len, self.text_dim)).astype(jnp.bfloat16)
            else:
                ids, mask = self.tokenizer([prompt])
                emb = self._encode(jnp.asarray(ids), jnp.asarray(mask))
            self._store[prompt] = emb
        return self._store[prompt]

    def __len__(self) -> int:
        return len(self._store)


def image_encoder(model: nnx.Module | None, counter: CompileCounter, features=None) -> Callable:
    """[1, H, W, 3] image in [-1, 1] -> CLIP tokens [1, 257, 1280].

    Without a CLIP model whose width is the 1280 the DiT's image projection takes (the tiny fixture CLIP is
    64 wide), the fixed stand-in ``features`` [1, 257, 1280] are returned for every image.
    """
    if model is not None and model.config.dim == CLIP_DIM:
        return module_fn(model, encode_image, counter, "image")
    if features is None or tuple(features.shape) != (1, CLIP_TOKENS, CLIP_DIM):
        raise ValueError(f"this config needs fixed image features [1, {CLIP_TOKENS}, {CLIP_DIM}]")
    fixed = jnp.asarray(features, jnp.float32)
    return lambda image: fixed


def vae_encoder(vae: nnx.Module, counter: CompileCounter) -> Callable:
    """[1, T, H, W, 3] clip in [-1, 1] -> normalised latents [1, t, h, w, 16]."""
    return module_fn(vae, lambda m, video: m.encode(video), counter, "vae")

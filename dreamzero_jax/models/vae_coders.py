"""Encoder3d and Decoder3d of the Wan2.1 video VAE: one chunk of frames in, one chunk out, cache threaded.

Layer lists keep upstream's ``nn.Sequential`` indices (``downsamples.5`` is the same layer here and in a
checkpoint), which keeps the conversion rules a renaming of leaf names only.
"""

from __future__ import annotations

import itertools

import jax
from flax import nnx

from dreamzero_jax.configs.vae import VAEConfig
from dreamzero_jax.models.vae_blocks import AttentionBlock, CausalConv3d, ResidualBlock, RMSNorm
from dreamzero_jax.models.vae_resample import RESAMPLERS


def run_layers(layers, x: jax.Array, cache) -> tuple[jax.Array, tuple]:
    """Thread ``x`` and each layer's cache slot through ``layers``; ``cache=None`` starts a stream."""
    new = []
    for i, layer in enumerate(layers):
        x, c = layer(x, None if cache is None else cache[i])
        new.append(c)
    return x, tuple(new)


def _middle(dim: int, eps: float, rngs: nnx.Rngs) -> nnx.List:
    return nnx.List(
        [
            ResidualBlock(dim, dim, eps, rngs=rngs),
            AttentionBlock(dim, eps, rngs=rngs),
            ResidualBlock(dim, dim, eps, rngs=rngs),
        ]
    )


class _Coder(nnx.Module):
    """Shared chunk call: ``conv1 -> [downsamples ->] middle [-> upsamples] -> norm, silu, conv``."""

    conv1: CausalConv3d
    stages: tuple[str, ...]

    def __call__(self, x: jax.Array, cache: dict | None) -> tuple[jax.Array, dict]:
        get = (lambda k: None) if cache is None else cache.__getitem__
        new = {}
        x, new["conv1"] = self.conv1(x, get("conv1"))
        for name in self.stages:
            x, new[name] = run_layers(getattr(self, name), x, get(name))
        x, new["head"] = self.head_conv(jax.nn.silu(self.head_norm(x)), get("head"))
        return x, new


class Encoder3d(_Coder):
    """Pixels ``[B, T, H, W, 3]`` -> ``2 * z_dim`` moments at 1/8 resolution (one chunk at a time)."""

    def __init__(self, config: VAEConfig, *, rngs: nnx.Rngs):
        eps = config.norm_eps
        dims = [config.dim * u for u in (1, *config.dim_mult)]
        self.conv1 = CausalConv3d(3, dims[0], (3, 3, 3), rngs=rngs)
        layers, scale = [], 1.0
        for i, (in_dim, out_dim) in enumerate(itertools.pairwise(dims)):
            for _ in range(config.num_res_blocks):
                layers.append(ResidualBlock(in_dim, out_dim, eps, rngs=rngs))
                if scale in config.attn_scales:
                    layers.append(AttentionBlock(out_dim, eps, rngs=rngs))
                in_dim = out_dim
            if i != len(config.dim_mult) - 1:
                mode = "downsample3d" if config.temporal_downsample[i] else "downsample2d"
                layers.append(RESAMPLERS[mode](out_dim, rngs=rngs))
                scale /= 2.0
        self.downsamples = nnx.List(layers)
        self.middle = _middle(dims[-1], eps, rngs)
        self.head_norm = RMSNorm(dims[-1], eps)
        self.head_conv = CausalConv3d(dims[-1], 2 * config.z_dim, (3, 3, 3), rngs=rngs)
        self.stages = ("downsamples", "middle")


class Decoder3d(_Coder):
    """Latents ``[B, t, h, w, z_dim]`` -> pixels ``[B, T, 8h, 8w, 3]`` (one chunk at a time)."""

    def __init__(self, config: VAEConfig, *, rngs: nnx.Rngs):
        eps = config.norm_eps
        dims = [config.dim * u for u in (config.dim_mult[-1], *config.dim_mult[::-1])]
        scale = 1.0 / 2 ** (len(config.dim_mult) - 2)
        self.conv1 = CausalConv3d(config.z_dim, dims[0], (3, 3, 3), rngs=rngs)
        self.middle = _middle(dims[0], eps, rngs)
        layers = []
        for i, (in_dim, out_dim) in enumerate(itertools.pairwise(dims)):
            if i > 0:  # every upsampling conv halves the channels (upstream hard-codes i in {1, 2, 3})
                in_dim //= 2
            for _ in range(config.num_res_blocks + 1):
                layers.append(ResidualBlock(in_dim, out_dim, eps, rngs=rngs))
                if scale in config.attn_scales:
                    layers.append(AttentionBlock(out_dim, eps, rngs=rngs))
                in_dim = out_dim
            if i != len(config.dim_mult) - 1:
                mode = "upsample3d" if config.temporal_upsample[i] else "upsample2d"
                layers.append(RESAMPLERS[mode](out_dim, rngs=rngs))
                scale *= 2.0
        self.upsamples = nnx.List(layers)
        self.head_norm = RMSNorm(dims[-1], eps)
        self.head_conv = CausalConv3d(dims[-1], 3, (3, 3, 3), rngs=rngs)
        self.stages = ("middle", "upsamples")

"""Conversion rules: Wan2.1 ``VideoVAE_.state_dict()`` names -> ``WanVAE`` NNX paths.

Layer indices of the upstream ``nn.Sequential`` lists are kept, so only leaf names change:
``residual.{0,2,3,6}`` -> ``norm1/conv1/norm2/conv2``, ``resample.1`` -> ``spatial_conv``,
``head.{0,2}`` -> ``head_norm/head_conv``, ``weight`` -> ``kernel`` (channels-last), ``gamma`` drops its
broadcast dims (``[C,1,1,1]``, ``[C,1,1]`` in attention) to ``[C]``.
"""

from __future__ import annotations

from dreamzero_jax.convert.rules import Rule

# Inside WANPolicyHead the VAE weights live under `vae.model.` (the head loads Wan2.1_VAE.pth into vae.model).
CHECKPOINT_PREFIX = "vae.model."

_BLOCK = r"(encoder|decoder)\.(downsamples|upsamples|middle)\.(\d+)\."
_BLOCK_TARGET = r"\1.\2.\3."


def _gamma4(s: tuple[int, ...]) -> tuple[int, ...]:
    return (s[0], 1, 1, 1)


def _gamma3(s: tuple[int, ...]) -> tuple[int, ...]:
    return (s[0], 1, 1)


def _conv(
    torch_layer: str, nnx_layer: str, transform: str, prefix: str = _BLOCK, target: str = _BLOCK_TARGET
):
    return (
        Rule(prefix + torch_layer + r"\.weight", target + nnx_layer + ".kernel", transform),
        Rule(prefix + torch_layer + r"\.bias", target + nnx_layer + ".bias"),
    )


RULES: tuple[Rule, ...] = (
    # residual blocks (encoder stages, decoder stages, middle.0 / middle.2)
    Rule(_BLOCK + r"residual\.0\.gamma", _BLOCK_TARGET + "norm1.gamma", "squeeze", _gamma4),
    *_conv(r"residual\.2", "conv1", "conv3d"),
    Rule(_BLOCK + r"residual\.3\.gamma", _BLOCK_TARGET + "norm2.gamma", "squeeze", _gamma4),
    *_conv(r"residual\.6", "conv2", "conv3d"),
    *_conv(r"shortcut", "shortcut", "conv3d"),
    # resampling layers
    *_conv(r"resample\.1", "spatial_conv", "conv2d"),
    *_conv(r"time_conv", "time_conv", "conv3d"),
    # middle attention (middle.1)
    Rule(_BLOCK + r"norm\.gamma", _BLOCK_TARGET + "norm.gamma", "squeeze", _gamma3),
    *_conv(r"to_qkv", "to_qkv", "conv2d"),
    *_conv(r"proj", "proj", "conv2d"),
    # stems and heads
    *_conv(r"conv1", "conv1", "conv3d", prefix=r"(encoder|decoder)\.", target=r"\1."),
    Rule(r"(encoder|decoder)\.head\.0\.gamma", r"\1.head_norm.gamma", "squeeze", _gamma4),
    *_conv(r"head\.2", "head_conv", "conv3d", prefix=r"(encoder|decoder)\.", target=r"\1."),
    # latent projections: conv1 -> (mu, log-variance), conv2 before the decoder
    *_conv(r"(conv1|conv2)", r"\1", "conv3d", prefix="", target=""),
)

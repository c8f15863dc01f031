"""The Wan2.1 causal video VAE (upstream ``VideoVAE_`` + ``WanVideoVAE``) with an explicit streaming cache.

Video is channels-last ``[B, T, H, W, 3]`` in [-1, 1]; latents are ``[B, t, H/8, W/8, z_dim]``,
normalised as DreamZero feeds them to the DiT: ``(mu - mean) * (1 / std)``.

Streaming. Upstream encodes the first frame alone and then groups of 4 frames, re-running the whole
encoder per chunk with one cache slot per causal conv. Here that state is an explicit pytree (nested
dicts/tuples of arrays mirroring the module tree) returned by every chunk call::

    latent0, cache = model.encode_chunk(None, video[:, :1])       # None = start of a stream
    latent1, cache = model.encode_chunk(cache, video[:, 1:5])     # any multiple of 4 frames
    ...

The whole-clip ``encode`` is a ``lax.scan`` of ``features_chunk`` (``encode_chunk`` adds the pointwise
``conv1`` + normalisation), and ``decode`` a scan of ``decode_chunk``, so chunked and whole-clip results
are the same computation. After the first chunk every cache leaf has a fixed shape, so a jitted chunk
step compiles once for the first chunk and once per later chunk size.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.vae import VAEConfig
from dreamzero_jax.models.vae_blocks import PointwiseConv3d
from dreamzero_jax.models.vae_coders import Decoder3d, Encoder3d

Cache = dict  # nested dicts/tuples of arrays; None (the whole cache) marks the start of a stream
ChunkStep = Callable[[Cache | None, jax.Array], tuple[jax.Array, Cache]]


def usable_frames(num_frames: int, temporal_factor: int = 4) -> int:
    """Frames the encoder consumes from a clip of ``num_frames``: ``1 + 4k`` (upstream drops the rest)."""
    if num_frames < 1:
        raise ValueError("a clip needs at least one frame")
    return 1 + temporal_factor * ((num_frames - 1) // temporal_factor)


def scan_chunks(step: ChunkStep, first: jax.Array, rest: jax.Array, chunk_len: int) -> jax.Array:
    """``step`` over ``first`` (fresh stream), then ``lax.scan`` over ``rest`` cut in ``chunk_len`` frames.

    Outputs are concatenated on time. ``rest.shape[1]`` must be a multiple of ``chunk_len``.
    """
    y0, cache = step(None, first)
    n = rest.shape[1] // chunk_len
    if n == 0:
        return y0
    chunks = rest.reshape(rest.shape[0], n, chunk_len, *rest.shape[2:]).swapaxes(0, 1)

    def body(carry, chunk):
        y, carry = step(carry, chunk)
        return carry, y

    _, ys = jax.lax.scan(body, cache, chunks)
    ys = ys.swapaxes(0, 1)
    return jnp.concatenate([y0, ys.reshape(ys.shape[0], -1, *ys.shape[3:])], axis=1)


def _check_chunk(what: str, cache, num_frames: int, multiple: int) -> None:
    if cache is None and num_frames != 1:
        raise ValueError(f"the first {what} chunk of a stream must hold exactly 1 frame, got {num_frames}")
    if cache is not None and (num_frames == 0 or num_frames % multiple):
        raise ValueError(
            f"{what} chunks after the first must hold a multiple of {multiple} frames, got {num_frames}"
        )


class WanVAE(nnx.Module):
    """Wan2.1 video VAE. Parameter names follow ``VideoVAE_`` (``encoder``, ``conv1``, ``conv2``, ``decoder``)."""

    def __init__(self, config: VAEConfig, *, rngs: nnx.Rngs):
        self.config = config
        self.encoder = Encoder3d(config, rngs=rngs)
        self.conv1 = PointwiseConv3d(2 * config.z_dim, 2 * config.z_dim, rngs=rngs)  # -> (mu, log-variance)
        self.conv2 = PointwiseConv3d(config.z_dim, config.z_dim, rngs=rngs)  # applied to z before the decoder
        self.decoder = Decoder3d(config, rngs=rngs)

    # ---- latent normalisation (WanVideoVAE.scale = [mean, 1/std], float32) ----
    def normalize(self, mu: jax.Array) -> jax.Array:
        return (mu - jnp.asarray(self.config.mean)) * jnp.asarray(self.config.inv_std)

    def denormalize(self, latent: jax.Array) -> jax.Array:
        # upstream divides by the float32 1/std rather than multiplying by std; kept for bitwise parity
        return latent / jnp.asarray(self.config.inv_std) + jnp.asarray(self.config.mean)

    # ---- encoder ----
    def features_chunk(self, cache: Cache | None, frames: jax.Array) -> tuple[jax.Array, Cache]:
        """Encoder3d output (``2 * z_dim`` channels) for one chunk: 1 frame first, then 4k frames."""
        _check_chunk("encoder", cache, frames.shape[1], self.config.temporal_factor)
        return self.encoder(frames, cache)

    def moments(self, features: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``conv1`` split into (mu, log-variance); encoding is deterministic and keeps only mu."""
        return jnp.split(self.conv1(features), 2, axis=-1)

    def latents_from_features(self, features: jax.Array) -> jax.Array:
        """Normalised mu of Encoder3d features (pointwise, so per chunk or per clip is the same)."""
        return self.normalize(self.moments(features)[0])

    def encode_chunk(self, cache: Cache | None, frames: jax.Array) -> tuple[jax.Array, Cache]:
        """Normalised latents of one chunk (1 frame -> 1 latent, 4k frames -> k latents) and the new cache."""
        features, cache = self.features_chunk(cache, frames)
        return self.latents_from_features(features), cache

    def encoder_features(self, video: jax.Array) -> jax.Array:
        """Encoder3d output over a whole clip: a scan of ``features_chunk`` (chunk i gives latent frame i)."""
        video = video[:, : usable_frames(video.shape[1], self.config.temporal_factor)]
        return scan_chunks(self.features_chunk, video[:, :1], video[:, 1:], self.config.temporal_factor)

    def encode(self, video: jax.Array) -> jax.Array:
        """``[B, T, H, W, 3]`` in [-1, 1] -> normalised latents ``[B, 1 + (T-1)//4, H/8, W/8, z_dim]``.

        Frames beyond ``1 + 4 * ((T-1)//4)`` are dropped, as upstream.
        """
        return self.latents_from_features(self.encoder_features(video))

    # ---- decoder ----
    def decode_chunk(self, cache: Cache | None, latent: jax.Array) -> tuple[jax.Array, Cache]:
        """Unclamped pixels of normalised latents: 1 frame first (-> 1 frame), then n frames (-> 4n)."""
        _check_chunk("decoder", cache, latent.shape[1], 1)
        return self.decoder(self.conv2(self.denormalize(latent)), cache)

    def decode(self, latent: jax.Array) -> jax.Array:
        """Normalised latents -> unclamped pixels ``[B, 1 + 4(t-1), 8h, 8w, 3]`` (upstream ``VideoVAE_.decode``)."""
        return scan_chunks(self.decode_chunk, latent[:, :1], latent[:, 1:], 1)


@nnx.jit
def encode_video(model: WanVAE, video: jax.Array) -> jax.Array:
    """Jitted ``model.encode``: what upstream ``WanVideoVAE.encode(videos, tiled=False)`` returns."""
    return model.encode(video)


def clamp_pixels(video: jax.Array) -> jax.Array:
    """Clamp decoded pixels to [-1, 1], as upstream ``WanVideoVAE.decode`` does after ``VideoVAE_.decode``."""
    return jnp.clip(video, -1.0, 1.0)


@nnx.jit
def decode_latents(model: WanVAE, latent: jax.Array) -> jax.Array:
    """Jitted ``model.decode``: unclamped pixels (upstream ``VideoVAE_.decode``)."""
    return model.decode(latent)


def decode_video(model: WanVAE, latent: jax.Array) -> jax.Array:
    """Normalised latents -> pixels in [-1, 1], what upstream ``WanVideoVAE.decode(latents, tiled=False)`` returns."""
    return clamp_pixels(decode_latents(model, latent))


@nnx.jit
def encode_stream_step(model: WanVAE, cache: Cache | None, frames: jax.Array) -> tuple[jax.Array, Cache]:
    """Jitted ``model.encode_chunk`` for streaming encoders (compiles once per chunk size and start/continue)."""
    return model.encode_chunk(cache, frames)

"""Parity of the Wan2.1 video VAE against ``dreamzero_tiny_encoders/vae_io.npz`` (upstream, float32 CPU).

Covers encode (Encoder3d output, mu / log-variance, normalised latent), decode (de-normalised z,
unclamped and clamped pixels) and the head's real-world re-encoding path (``rw_*``). Tolerance 1e-4
absolute everywhere: the README asks for float32 rounding only (a float32 port measured ~1e-5 on the
decoder, whose outputs reach |3|); constants and frame preparation must match exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jax
import numpy as np
from flax import nnx
from safetensors.numpy import load_file

from dreamzero_jax.configs.vae import TINY
from dreamzero_jax.convert.apply import load_into
from dreamzero_jax.models.vae import WanVAE, clamp_pixels, decode_latents
from dreamzero_jax.models.vae_inputs import from_torch_video, prepare_observation_frames
from dreamzero_jax.parity.core import ParityResult, compare
from dreamzero_jax.views import to_signed_unit

SUBDIR = "dreamzero_tiny_encoders"
HANDLES = ("vae_io.npz",)
TOL = 1e-4


def load_tiny_vae(fixture: Path) -> WanVAE:
    """The fixture's tiny VAE: abstract construction (no random init), then the converted weights."""
    model = nnx.eval_shape(lambda: WanVAE(TINY, rngs=nnx.Rngs(0)))
    load_into(model, load_file(str(Path(fixture) / "vae_weights.safetensors")), component="vae")
    return model


@nnx.jit
def encoder_outputs(model: WanVAE, video: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """(Encoder3d features, mu, log-variance, normalised latent) of a clip, composed as ``model.encode``."""
    features = model.encoder_features(video)
    mu, logvar = model.moments(features)
    return features, mu, logvar, model.latents_from_features(features)


def _ref(io, key: str) -> np.ndarray:
    """A fixture video/latent in our channels-last layout."""
    return np.asarray(from_torch_video(io[key]))


def encode_checks(model: WanVAE, io) -> Iterator[ParityResult]:
    """Latent constants, Encoder3d output, mu / log-variance and the normalised latent of ``enc_in_video``."""
    yield compare("vae.scale_mean", TINY.mean, io["scale_mean"], tol=0.0)
    yield compare("vae.scale_inv_std", TINY.inv_std, io["scale_inv_std"], tol=0.0)
    features, mu, logvar, latent = encoder_outputs(model, _ref(io, "enc_in_video"))
    yield compare("vae.encode.encoder_out", features, _ref(io, "enc_aux_encoder_out"), TOL)
    yield compare("vae.encode.mu", mu, _ref(io, "enc_aux_mu"), TOL)
    yield compare("vae.encode.logvar", logvar, _ref(io, "enc_aux_logvar"), TOL, note="unused upstream")
    yield compare("vae.encode.latent", latent, _ref(io, "enc_out_latent"), TOL)


def decode_checks(model: WanVAE, io) -> Iterator[ParityResult]:
    """De-normalised z, unclamped and clamped pixels of ``dec_in_latent``."""
    latent = _ref(io, "dec_in_latent")
    yield compare("vae.decode.z", model.denormalize(latent), _ref(io, "dec_aux_z"), TOL)
    unclamped = decode_latents(model, latent)
    yield compare("vae.decode.unclamped", unclamped, _ref(io, "dec_out_video_unclamped"), TOL)
    yield compare("vae.decode.clamped", clamp_pixels(unclamped), _ref(io, "dec_out_video"), TOL)


def observation_checks(io) -> Iterator[ParityResult]:
    """The head's real-world frame path before the VAE: uint8 -> [-1, 1], then its frame preparation."""
    video = to_signed_unit(io["rw_in_images"])
    yield compare("vae.rw.in_video", video, _ref(io, "rw_in_video"), tol=0.0)
    yield compare("vae.rw.vae_in", prepare_observation_frames(video, 2), _ref(io, "rw_vae_in"), tol=0.0)


def real_world_encode_checks(model: WanVAE, io) -> Iterator[ParityResult]:
    """Latents of the prepared real-world chunk, and the last 2 the head feeds its KV-cache pass."""
    latent = encoder_outputs(model, prepare_observation_frames(to_signed_unit(io["rw_in_images"]), 2))[3]
    yield compare("vae.rw.latent", latent, _ref(io, "rw_out_latent"), TOL)
    yield compare("vae.rw.ref_latents", latent[:, -2:], _ref(io, "rw_out_ref_latents"), TOL)


def checks(fixture_dir: Path) -> Iterator[ParityResult]:
    """Parity results for the VAE; nothing when ``fixture_dir`` (or its encoders subdir) lacks ``vae_io.npz``."""
    fixture = Path(fixture_dir)
    fixture = fixture / SUBDIR if (fixture / SUBDIR).is_dir() else fixture
    if not (fixture / "vae_io.npz").is_file():
        return
    io = np.load(fixture / "vae_io.npz")
    model = load_tiny_vae(fixture)
    yield from encode_checks(model, io)
    yield from decode_checks(model, io)
    yield from observation_checks(io)
    yield from real_world_encode_checks(model, io)

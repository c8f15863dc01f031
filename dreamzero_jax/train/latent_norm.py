"""The VAE's latent normalisation, fitted to the training data when the VAE is random.

The DiT sees VAE latents as ``(mu - mean) / std`` per channel. Wan's constants are statistics of Wan's
trained VAE over real video; a randomly initialised VAE (the small config has no pretrained one) puts out
means near zero whose variation between frames is a few hundredths, so with Wan's constants the scene's
content (where the cube and the gripper are) is ~3 % of a latent's magnitude and the DiT learns to ignore
it (measured: its actions did not change when each sample's frames were swapped for another's). Fitting
the per-channel mean and std to the training latents, as Wan's constants were fitted to Wan's data, gives
the content ~7x more weight. The fitted constants are part of the model config the checkpoint records, so
the policy's VAE normalises with them too. A restored VAE keeps the constants it came with.

Functions are pure numpy: the cache keeps the latents as encoded, and these map them to the fitted scale.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from dreamzero_jax.conditioning import Y_MASK_CHANNELS
from dreamzero_jax.configs.vae import VAEConfig

MIN_STD = 1e-6  # a channel that never varies keeps a finite scale


def raw_latents(latents: np.ndarray, vae: VAEConfig) -> np.ndarray:
    """The VAE means behind ``latents`` normalised with ``vae``'s constants (``WanVAE.denormalize``)."""
    return np.asarray(latents, np.float32) / vae.inv_std + vae.mean


def fit_latent_norm(latents: np.ndarray, vae: VAEConfig) -> VAEConfig:
    """``vae`` with per-channel mean/std of the VAE means behind ``latents`` [..., z_dim] (normalised with
    ``vae``'s constants): renormalised, these latents have zero mean and unit std in every channel."""
    raw = raw_latents(latents, vae).reshape(-1, vae.z_dim).astype(np.float64)
    mean, std = raw.mean(0), np.maximum(raw.std(0), MIN_STD)
    return dataclasses.replace(
        vae, latent_mean=tuple(float(m) for m in mean), latent_std=tuple(float(s) for s in std)
    )


def renormalize(latents: np.ndarray, old: VAEConfig, new: VAEConfig) -> np.ndarray:
    """``latents`` normalised with ``old``'s constants, re-expressed with ``new``'s."""
    return ((raw_latents(latents, old) - new.mean) * new.inv_std).astype(np.float32)


def renormalize_y(y: np.ndarray, old: VAEConfig, new: VAEConfig) -> np.ndarray:
    """``y`` [..., 4 + z_dim] with its latent channels re-expressed with ``new``'s constants (mask kept)."""
    out = np.array(y, np.float32, copy=True)
    out[..., Y_MASK_CHANNELS:] = renormalize(y[..., Y_MASK_CHANNELS:], old, new)
    return out

"""A random VAE's latent normalisation is fitted to the training latents, and the samples re-expressed with
the fitted constants equal what the policy's VAE (built from the exported config) puts out."""

from __future__ import annotations

import dataclasses
import json

import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint.policy_dir import CONFIG_FILE
from dreamzero_jax.conditioning import first_frame_clip, y_from_latent
from dreamzero_jax.configs import get_config
from dreamzero_jax.configs.vae import VAE_CONFIGS
from dreamzero_jax.models.vae import WanVAE
from dreamzero_jax.train.latent_norm import fit_latent_norm, raw_latents, renormalize, renormalize_y
from dreamzero_jax.train.prepare import restored_latent_norm


def test_fitted_constants_standardise_every_channel():
    vae = VAE_CONFIGS["tiny"]
    rng = np.random.default_rng(0)
    # VAE means with a distinct offset and spread per channel, as a random VAE's are (near zero, small)
    raw = rng.normal(size=(50, 2, 4, 6, vae.z_dim)) * np.linspace(0.01, 0.3, vae.z_dim) + np.linspace(
        -0.2, 0.1, vae.z_dim
    )
    latents = (raw - vae.mean) * vae.inv_std  # what the cache holds: Wan's constants
    fitted = fit_latent_norm(latents, vae)
    out = renormalize(latents, vae, fitted).reshape(-1, vae.z_dim)
    np.testing.assert_allclose(out.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(0), 1, atol=1e-4)
    np.testing.assert_allclose(raw_latents(latents, vae), raw, atol=1e-5)
    assert fitted.dim == vae.dim and fitted.latent_std != vae.latent_std


def test_renormalised_samples_equal_the_policy_vae_with_fitted_constants():
    vae_cfg = VAE_CONFIGS["tiny"]
    rng = np.random.default_rng(1)
    frames = jnp.asarray(rng.uniform(-1, 1, (3, 16, 24, 3)), jnp.float32)
    encoder = WanVAE(vae_cfg, rngs=nnx.Rngs(0))
    cached = np.asarray(encoder.encode(frames[:, None]))  # reset frames, as the sample cache encodes them
    cached_y, _ = y_from_latent(encoder.encode(first_frame_clip(frames, 5)))
    fitted = fit_latent_norm(cached, vae_cfg)

    policy_vae = WanVAE(fitted, rngs=nnx.Rngs(7))  # the policy builds its VAE from the exported config
    nnx.update(policy_vae, nnx.state(encoder, nnx.Param))  # ... and restores the exported weights
    np.testing.assert_allclose(
        renormalize(cached, vae_cfg, fitted), policy_vae.encode(frames[:, None]), rtol=1e-5, atol=1e-5
    )
    policy_y, _ = y_from_latent(policy_vae.encode(first_frame_clip(frames, 5)))
    np.testing.assert_allclose(renormalize_y(np.asarray(cached_y), vae_cfg, fitted), policy_y, atol=1e-5)
    assert not np.allclose(cached, policy_vae.encode(frames[:, None]), atol=1e-3)  # the refit matters


def test_a_restored_vae_keeps_the_constants_its_checkpoint_records(tmp_path):
    small = get_config("small")
    fitted = dataclasses.replace(small.vae, latent_mean=(0.5,) * 16, latent_std=(0.25,) * 16)
    (tmp_path / "same").mkdir()
    (tmp_path / "same" / CONFIG_FILE).write_text(json.dumps(dataclasses.replace(small, vae=fitted).to_dict()))
    assert restored_latent_norm(small.vae, "small", tmp_path / "same") == fitted
    (tmp_path / "other").mkdir()
    tiny = get_config("tiny")
    (tmp_path / "other" / CONFIG_FILE).write_text(json.dumps(tiny.to_dict()))
    assert restored_latent_norm(small.vae, "small", tmp_path / "other") == small.vae  # another config's
    assert restored_latent_norm(small.vae, "small", tmp_path) == small.vae  # no record: the named constants

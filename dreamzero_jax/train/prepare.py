"""Everything a training run needs from its data, in one call: :func:`prepare_samples`.

Loads the datasets (one or several :class:`DataSource`, e.g. expert demonstrations and the learner's own
DAgger episodes), takes the frozen encoders (restored from ``--init``, else random), computes the
state/action statistics of the training splits together, builds both splits of each dataset through the
encoder cache (:mod:`.sample_cache`) and re-expresses their latents with the VAE constants the model will
use: fitted to the training latents for a random VAE (:mod:`.latent_norm`), the recorded ones for a
restored VAE. The returned config is the one the samples are normalised for: the run trains, validates
and exports with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamzero_jax.checkpoint.policy_dir import read_model_config
from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.configs.vae import VAEConfig
from dreamzero_jax.data.lerobot import Columns, load_dataset
from dreamzero_jax.inference.components import Components, build_components
from dreamzero_jax.normalization import NormStats
from dreamzero_jax.train.config import DataSource
from dreamzero_jax.train.latent_norm import fit_latent_norm, renormalize, renormalize_y
from dreamzero_jax.train.sample_cache import (
    DEFAULT_COLUMNS,
    CachedSamples,
    build_sample_set,
    concat_encoded,
    dataset_stats,
)


@dataclass(frozen=True)
class PreparedSamples:
    """The splits, the frozen encoders that encoded them (exported with the model), the normalisation
    statistics, and the model config the samples are normalised for (fitted latent constants included)."""

    train: CachedSamples
    val: CachedSamples | None
    encoders: Components
    stats: NormStats
    config: ModelConfig


def restored_latent_norm(vae: VAEConfig, name: str, init: Path) -> VAEConfig:
    """The VAE constants recorded in ``init``'s model config (a restored VAE keeps the constants it was
    trained or fitted with); ``vae`` unchanged when ``init`` records none for config ``name``."""
    recorded = read_model_config(init)
    if recorded is None or recorded.name != name or recorded.vae.z_dim != vae.z_dim:
        return vae
    return dataclasses.replace(vae, latent_mean=recorded.vae.latent_mean, latent_std=recorded.vae.latent_std)


def renormalized(samples: CachedSamples | None, old: VAEConfig, new: VAEConfig) -> CachedSamples | None:
    """``samples`` with their latents (and ``y``'s latent channels) re-expressed with ``new``'s constants."""
    if samples is None or new == old:
        return samples
    enc = samples.encoded
    enc = dataclasses.replace(
        enc, latents=renormalize(enc.latents, old, new), y=renormalize_y(enc.y, old, new)
    )
    return dataclasses.replace(samples, encoded=enc)


def merge_samples(parts: list[CachedSamples]) -> CachedSamples:
    """One sample set of several datasets' sets (same encoders): windows, labels and prompt contexts
    concatenated (:func:`~.sample_cache.concat_encoded` keeps each window on its own dataset's prompt)."""
    if len(parts) == 1:
        return parts[0]
    encoded = concat_encoded([p.encoded for p in parts])
    actions = np.concatenate([p.actions for p in parts])
    return CachedSamples(encoded, actions, np.concatenate([p.state for p in parts]))


def prepare_samples(
    config: ModelConfig,
    sources: Sequence[DataSource],
    init: Path | None,
    seed: int,
    columns: Columns = DEFAULT_COLUMNS,
) -> PreparedSamples:
    """The samples of a run: each dataset's training split at its source's phases, the validation splits
    at the policy's own call times only (so their metrics stay comparable across runs). One set of
    state/action statistics covers every dataset's training split.

    A cache holds latents normalised with ``config``'s own VAE constants, so runs that differ only in
    the constants (a first run fits them, a fine-tune restores them) share one encode."""
    datasets = [load_dataset(s.root, columns, load_frames=False) for s in sources]
    encoders = build_components(config, init, seed)
    stats = dataset_stats(config, tuple(e for d in datasets for e in d.split("train")))
    trains, vals = [], []
    for source, dataset in zip(sources, datasets, strict=True):
        trains.append(
            build_sample_set(config, dataset, "train", encoders, stats, source.cache, columns, source.phases)
        )
        if dataset.splits.get("val"):
            vals.append(build_sample_set(config, dataset, "val", encoders, stats, source.cache, columns))
    train, val = merge_samples(trains), merge_samples(vals) if vals else None
    if init is None:  # a random VAE: its latents carry the scene only at the data's own scale
        vae = fit_latent_norm(train.encoded.latents, config.vae)
    else:
        vae = restored_latent_norm(config.vae, config.name, init)
    train, val = renormalized(train, config.vae, vae), renormalized(val, config.vae, vae)
    return PreparedSamples(train, val, encoders, stats, dataclasses.replace(config, vae=vae))

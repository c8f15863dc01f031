"""The inference checkpoint layout, shared by the converter, training and :class:`DreamZeroPolicy`::

    <dir>/model_config.json      ModelConfig.to_dict(): rebuilds the right model from the directory alone
    <dir>/<component>/           orbax state of each component the config has (dit, vae, t5, clip)
    <dir>/normalization.json     state/action statistics (dreamzero_jax.normalization.NormStats)
    <dir>/image_features.npy     [1, 257, 1280] float32 fixed image-feature stand-in, only when the config
                                 has no 1280-wide image encoder (CLIP) to compute them
    <dir>/tokenizer/             optional umT5 spiece.model (real checkpoints); absent -> the tiny tokenizer

Converted checkpoints written before ``model_config.json`` existed load when the caller names the config.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint.orbax_io import save_state
from dreamzero_jax.configs import ModelConfig, get_config
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS
from dreamzero_jax.normalization import STATS_FILE, NormStats

CONFIG_FILE = "model_config.json"
IMAGE_FEATURES_FILE = "image_features.npy"


class CheckpointError(ValueError):
    """A checkpoint directory cannot be used (one line saying what is wrong)."""


def needs_image_stand_in(config: ModelConfig) -> bool:
    """True when the config has no image encoder whose width feeds the DiT's image projection."""
    return config.clip is None or config.clip.dim != CLIP_DIM


def export_policy(
    out_dir: str | Path,
    config: ModelConfig,
    states: Mapping[str, nnx.State],
    stats: NormStats,
    image_features: np.ndarray | None = None,
    *,
    dtype=None,
) -> Path:
    """Write a complete inference checkpoint: config, one orbax dir per component in ``states``, statistics
    and (when the config needs one) the fixed image features. Every component of ``config`` must be given."""
    out = Path(out_dir)
    missing = [n for n in ("dit", "vae", "t5", "clip") if config.component(n) is not None and n not in states]
    if missing:
        raise CheckpointError(f"export of config {config.name!r} lacks component state(s) {missing}")
    if needs_image_stand_in(config):
        if image_features is None:
            raise CheckpointError(
                f"config {config.name!r} has no image encoder: pass the image features it used"
            )
        image_features = np.asarray(image_features, np.float32)
        if image_features.shape != (1, CLIP_TOKENS, CLIP_DIM):
            raise CheckpointError(
                f"image features must be [1, {CLIP_TOKENS}, {CLIP_DIM}], got {image_features.shape}"
            )
    out.mkdir(parents=True, exist_ok=True)
    for name, state in states.items():
        save_state(out / name, state, dtype=dtype)
    return write_policy_files(out, config, stats, image_features)


def write_policy_files(
    out_dir: str | Path,
    config: ModelConfig,
    stats: NormStats | None,
    image_features: np.ndarray | None = None,
) -> Path:
    """Write the non-weight files of the layout (config, statistics when given, image features when given).

    :func:`export_policy` calls it after saving in-memory states; the converter calls it after streaming
    each component to disk, so both write the same layout."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if stats is not None:
        stats.save(out / STATS_FILE)
    if image_features is not None:
        np.save(out / IMAGE_FEATURES_FILE, np.asarray(image_features, np.float32))
    (out / CONFIG_FILE).write_text(json.dumps(config.to_dict(), indent=1) + "\n")
    return out


def read_model_config(directory: str | Path) -> ModelConfig | None:
    """The config recorded in ``directory`` (None for a checkpoint without one, e.g. an older conversion)."""
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return ModelConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: not a model config this version can read ({e})") from None


def read_image_features(directory: str | Path) -> np.ndarray | None:
    """The stored image-feature stand-in [1, 257, 1280], or None when the checkpoint has none."""
    path = Path(directory) / IMAGE_FEATURES_FILE
    return np.load(path) if path.is_file() else None


def resolve_config(config_name: str | None, checkpoint) -> ModelConfig:
    """The config a checkpoint records, checked against ``config_name`` when both are given."""
    recorded = read_model_config(checkpoint) if checkpoint is not None else None
    if recorded is None:
        return get_config(config_name or "tiny")
    if config_name is not None and config_name != recorded.name:
        raise CheckpointError(
            f"checkpoint {checkpoint} holds config {recorded.name!r}, not {config_name!r} (drop the config option)"
        )
    return recorded

"""The inference checkpoint layout: export, then rebuild the policy from the directory alone."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.checkpoint import (
    CheckpointError,
    export_policy,
    load_model,
    read_model_config,
    resolve_config,
)
from dreamzero_jax.checkpoint.models import build_model
from dreamzero_jax.configs import get_config
from dreamzero_jax.normalization import MinMax, NormStats

# tiny DiT + VAE, no text/image encoder: the cheapest config that needs the image-feature stand-in
CONFIG = dataclasses.replace(get_config("tiny"), name="tiny_no_text", t5=None, clip=None)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt")
    rngs = nnx.Rngs(3)
    models = {name: build_model(name, CONFIG.component(name), rngs) for name in ("dit", "vae")}
    stats = NormStats(MinMax(np.zeros(8), np.ones(8)), MinMax(-np.arange(1, 9.0), np.arange(1, 9.0)))
    features = np.random.default_rng(0).normal(size=(1, 257, 1280)).astype(np.float32)
    states = {k: nnx.state(m, nnx.Param) for k, m in models.items()}
    export_policy(out, CONFIG, states, stats, image_features=features)
    return out, states, stats, features


def test_the_directory_alone_rebuilds_config_weights_stats_and_image_features(exported):
    out, states, stats, features = exported
    assert read_model_config(out) == CONFIG
    assert resolve_config(None, out) == CONFIG  # no config name needed
    dit = load_model("dit", CONFIG.dit, out / "dit")
    for a, b in zip(jax.tree.leaves(nnx.state(dit, nnx.Param)), jax.tree.leaves(states["dit"]), strict=True):
        np.testing.assert_array_equal(a, b)
    loaded = NormStats.load(out)
    np.testing.assert_array_equal(loaded.action.high, stats.action.high)
    assert not np.array_equal(loaded.action.high, loaded.state.high)  # distinct, so a swap would show
    np.testing.assert_array_equal(np.load(out / "image_features.npy"), features)


def test_naming_another_config_than_the_checkpoint_holds_is_refused(exported):
    out = exported[0]
    with pytest.raises(CheckpointError, match="holds config 'tiny_no_text', not 'small'"):
        resolve_config("small", out)


def test_export_refuses_missing_components_and_missing_image_features(tmp_path, exported):
    _, states, stats, features = exported
    with pytest.raises(CheckpointError, match=r"lacks component state\(s\) \['vae'\]"):
        export_policy(tmp_path / "a", CONFIG, {"dit": states["dit"]}, stats, image_features=features)
    with pytest.raises(CheckpointError, match="pass the image features"):
        export_policy(tmp_path / "b", CONFIG, states, stats)

"""The encoder-output cache is keyed on what the encoders read: a DiT or sampler change reuses an encode,
an encoding change (views, VAE, text length, window layout) or another dataset re-encodes."""

from __future__ import annotations

import dataclasses
import json
import types

import numpy as np
import pytest

from dreamzero_jax.configs import get_config
from dreamzero_jax.train.sample_cache import cache_key

SMALL = get_config("small")


def _key(config, root, features=1.0):
    components = types.SimpleNamespace(vae=None, t5=None, image_features=np.full((1, 2), features))
    return cache_key(config, types.SimpleNamespace(root=root), components)


@pytest.fixture
def root(tmp_path):
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "info.json").write_text(json.dumps({"total_episodes": 3}))
    return tmp_path


@pytest.mark.parametrize(
    "change",
    [
        {"dit": {"patch_size": (1, 2, 2), "frame_seqlen": 96}},
        {"dit": {"dim": 256, "ffn_dim": 768, "num_layers": 8, "num_heads": 8, "hidden_size": 256}},
        {"num_inference_steps": 32, "dit_cache": "none", "sigma_shift": 2.0, "noise_scale": 0.5},
        {"relative_action_dims": 0},
    ],
    ids=["patches", "width-depth", "sampler", "labels"],
)
def test_dit_sampler_and_label_changes_reuse_the_encode(root, change):
    change = dict(change)  # the parameter is shared between runs: never mutate it
    dit = dataclasses.replace(SMALL.dit, **change.pop("dit", {}))
    assert _key(dataclasses.replace(SMALL, dit=dit, **change), root) == _key(SMALL, root)


@pytest.mark.parametrize(
    "change",
    [
        {"dit": {"text_len": 32}},
        {"dit": {"max_chunk_size": 2}},
        {"num_frames": 9},
        {"view_size": (32, 48)},
        {"vae": {"latent_mean": (0.5,) * 16}},
    ],
    ids=["text-len", "chunks", "frames", "views", "vae-constants"],
)
def test_encoding_changes_re_encode(root, change):
    change = dict(change)  # the parameter is shared between runs: never mutate it
    dit = dataclasses.replace(SMALL.dit, **change.pop("dit", {}))
    vae = dataclasses.replace(SMALL.vae, **change.pop("vae", {}))
    assert _key(dataclasses.replace(SMALL, dit=dit, vae=vae, **change), root) != _key(SMALL, root)


def test_other_data_or_encoders_re_encode(root, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    (other / "meta").mkdir()
    (other / "meta" / "info.json").write_text(json.dumps({"total_episodes": 4}))
    assert _key(SMALL, other) != _key(SMALL, root)
    assert _key(SMALL, root, features=2.0) != _key(SMALL, root)

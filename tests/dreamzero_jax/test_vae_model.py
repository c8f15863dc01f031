"""Wan2.1 VAE structure: shapes (abstract, no compute), configs, conversion coverage, frame preparation."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import load_file

from dreamzero_jax.configs.vae import DROID_14B, TINY, VAE_CONFIGS
from dreamzero_jax.convert.apply import expected_checkpoint_shapes, load_into, plan
from dreamzero_jax.convert.components import checkpoint_prefixes
from dreamzero_jax.models.vae import WanVAE, usable_frames
from dreamzero_jax.models.vae_inputs import prepare_observation_frames

ENCODERS = "dreamzero_tiny_encoders"


def _abstract(config) -> WanVAE:
    return nnx.eval_shape(lambda: WanVAE(config, rngs=nnx.Rngs(0)))


def _num_params(model) -> int:
    return sum(int(np.prod(v.shape)) for v in jax.tree.leaves(nnx.state(model, nnx.Param)))


@pytest.mark.parametrize(("frames", "latents"), [(1, 1), (5, 2), (11, 3), (17, 5)])
def test_encode_decode_shapes(frames, latents):
    model = _abstract(TINY)
    latent = nnx.eval_shape(WanVAE.encode, model, jax.ShapeDtypeStruct((2, frames, 64, 96, 3), jnp.float32))
    assert latent.shape == (2, latents, 8, 12, 16)
    video = nnx.eval_shape(WanVAE.decode, model, latent)
    assert video.shape == (2, usable_frames(frames), 64, 96, 3)


def test_droid_shapes_and_size():
    model = _abstract(DROID_14B)
    latent = nnx.eval_shape(WanVAE.encode, model, jax.ShapeDtypeStruct((1, 33, 352, 640, 3), jnp.float32))
    assert latent.shape == (1, 9, 44, 80, 16)
    assert abs(_num_params(model) - 126.9e6) < 0.05e6  # README: real VAE has 126.9 M parameters


def test_usable_frames_drops_incomplete_groups():
    assert [usable_frames(t) for t in (1, 4, 5, 8, 9, 16, 17)] == [1, 1, 5, 5, 9, 13, 17]


def test_tiny_config_matches_fixture(fixtures_dir: Path):
    cfg = json.loads((fixtures_dir / ENCODERS / "vae_config.json").read_text())
    kw = cfg["video_vae_kwargs_tiny"]
    assert (TINY.dim, TINY.z_dim, list(TINY.dim_mult)) == (kw["dim"], kw["z_dim"], kw["dim_mult"])
    assert list(TINY.temporal_downsample) == kw["temperal_downsample"]
    assert VAE_CONFIGS["droid_14b"].dim == cfg["video_vae_kwargs_real"]["dim"]
    np.testing.assert_array_equal(TINY.mean, np.asarray(cfg["latent_mean"], np.float32))
    assert _num_params(_abstract(TINY)) == cfg["num_parameters"]


def test_conversion_covers_every_key(fixtures_dir: Path):
    tensors = load_file(str(fixtures_dir / ENCODERS / "vae_weights.safetensors"))
    model = _abstract(TINY)
    _mapping, report = plan({k: v.shape for k, v in tensors.items()}, "vae", model)
    assert report.ok, report.problem_lines(limit=10)
    assert report.mapped == len(tensors) == 194
    load_into(model, tensors, component="vae")
    np.testing.assert_array_equal(  # [O, I, kt, kh, kw] -> [kt, kh, kw, I, O]
        model.encoder.conv1.kernel[...], tensors["encoder.conv1.weight"].transpose(2, 3, 4, 1, 0)
    )
    np.testing.assert_array_equal(
        model.decoder.middle[1].norm.gamma[...], tensors["decoder.middle.1.norm.gamma"][:, 0, 0]
    )
    np.testing.assert_array_equal(
        model.decoder.upsamples[3].time_conv.bias[...], tensors["decoder.upsamples.3.time_conv.bias"]
    )


def test_rules_invert_to_the_same_key_set_for_both_configs(fixtures_dir: Path):
    tensors = load_file(str(fixtures_dir / ENCODERS / "vae_weights.safetensors"))
    tiny = expected_checkpoint_shapes("vae", _abstract(TINY))
    assert tiny == {k: v.shape for k, v in tensors.items()}
    real = expected_checkpoint_shapes("vae", _abstract(DROID_14B))  # README: identical key sets
    assert set(real) == set(tiny)
    assert real["encoder.conv1.weight"] == (96, 3, 3, 3, 3)
    assert "vae.model." in checkpoint_prefixes("vae")


def test_observation_frames_repeat_in_place_then_prepend_first():
    frames = jnp.arange(4.0).reshape(1, 4, 1, 1, 1)
    out = prepare_observation_frames(frames, num_frame_per_block=2)
    assert out[0, :, 0, 0, 0].tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3]
    eight = jnp.arange(8.0).reshape(1, 8, 1, 1, 1)
    assert prepare_observation_frames(eight, 2)[0, :, 0, 0, 0].tolist() == [0, *range(8)]
    nine = jnp.arange(9.0).reshape(1, 9, 1, 1, 1)
    assert prepare_observation_frames(nine, 2) is nine
    with pytest.raises(ValueError, match="at least 4 frames"):
        prepare_observation_frames(frames[:, :2], 2)

"""The composed config registry and `python -m dreamzero_jax.info` (abstract parameter counts)."""

from __future__ import annotations

import dataclasses
import json
import math

import jax
import pytest
from flax import nnx

from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.configs import CONFIGS, ModelConfig, get_config
from dreamzero_jax.info import main, parameter_counts


def test_registry_names_and_policy_settings():
    assert set(CONFIGS) == {"tiny", "small", "small_p2", "droid_14b", "bench"}
    droid = get_config("droid_14b")
    assert isinstance(droid, ModelConfig)
    assert (droid.num_inference_steps, droid.sigma_shift, droid.cfg_scale) == (16, 5.0, 5.0)
    assert (droid.action_horizon, droid.num_frames, droid.latent_frames) == (24, 33, 9)
    assert droid.dit.dim == 5120 and droid.dit.num_layers == 40
    tiny = get_config("tiny")
    assert tiny.latent_frames == 5 and tiny.dit.text_dim == tiny.t5.dim  # the umT5 output feeds the DiT
    small = get_config("small")
    # the open-loop horizon is one action block; one latent frame per block, a window of one block
    assert (small.action_horizon, small.dit.num_action_per_block, small.latent_frames) == (8, 8, 2)
    assert small.dit.local_attn_size == small.latent_frames and small.cfg_scale == 1.0
    # 2x2 patches: 4x the tokens per frame (16x24 latents), and nothing else changes
    p2 = get_config("small_p2")
    assert (p2.dit.patch_size, p2.dit.frame_seqlen, small.dit.frame_seqlen) == ((1, 2, 2), 96, 24)
    assert dataclasses.replace(p2, name="small", dit=small.dit) == small
    with pytest.raises(KeyError, match="valid: tiny, small, small_p2, droid_14b, bench"):
        get_config("droid")


@pytest.mark.parametrize("name", ["tiny", "small", "small_p2", "bench", "droid_14b"])
def test_model_config_round_trips_through_json(name):
    config = get_config(name)
    assert ModelConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ValueError, match="unknown field"):
        ModelConfig.from_dict({**config.to_dict(), "dit": {**config.to_dict()["dit"], "bogus": 1}})


def test_tiny_counts_equal_the_fixture_parameter_counts(fixtures_dir):
    fixture = json.loads((fixtures_dir / "dreamzero_tiny/config.json").read_text())
    counts = parameter_counts(abstract_model("dit", get_config("tiny").dit))
    assert sum(counts.values()) == fixture["causal_wan_model_derived"]["num_parameters"] == 1_921_784
    assert {"blocks", "patch_embedding", "action_encoder", "state_encoder", "action_decoder", "head"} <= set(
        counts
    )


def test_info_cli_json_and_usage_errors(capsys):
    assert main(["--config", "tiny", "--components", "dit,t5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    dit = data["components"]["dit"]
    # the top-level split adds up and the block stack dominates neither trivially nor entirely
    assert sum(dit.values()) == 1_921_784 and 0 < dit["blocks"] < sum(dit.values())
    assert sum(data["components"]["t5"].values()) == 65_776
    assert main(["--config", "huge"]) == 2
    assert "unknown --config 'huge'" in capsys.readouterr().err
    assert main(["--config", "tiny", "--components", "llm"]) == 2


@pytest.mark.slow
def test_droid_14b_dit_is_a_16b_wan_i2v_model(capsys):
    assert main(["--config", "droid_14b", "--components", "dit"]) == 0
    out = capsys.readouterr().out
    total = int(
        next(line for line in out.splitlines() if line.startswith("dit") and "TOTAL" in line)
        .split()[2]
        .replace(",", "")
    )
    # Wan2.1-I2V-14B: 40 blocks of (self-attn 4 + cross-attn 6 projections of 5120^2, FFN 2 x 5120 x 13824)
    per_block = 4 * (5120 * 5120 + 5120) + 6 * 5120 * 5120 + 4 * 5120 + 2 * 5120 * 13824 + 13824 + 5120
    assert math.isclose(total, 16.48e9, rel_tol=0.01) and total > 40 * per_block


def test_abstract_model_allocates_nothing_and_restores_jax():
    from jax._src.interpreters import partial_eval as pe

    before = pe.DynamicJaxprTracer._origin_msg
    model = abstract_model("dit", get_config("tiny").dit)
    assert pe.DynamicJaxprTracer._origin_msg is before
    leaves = jax.tree.leaves(nnx.state(model))
    assert leaves and all(isinstance(x, jax.ShapeDtypeStruct) for x in leaves)

"""``split_overrides``: one flat option mapping -> the model's config and the policy's own options."""

import pytest

from dreamzero_jax.configs import get_config
from dreamzero_jax.inference.options import PolicyOptions, split_overrides


def test_model_and_dit_fields_override_the_config_and_the_rest_are_policy_options():
    small = get_config("small")
    config, options = split_overrides(
        small,
        {"cfg_scale": 2.5, "max_chunk_size": 3, "max_sessions": "4", "dtype": "bfloat16", "mesh": "data:2"},
    )
    assert (config.cfg_scale, config.dit.max_chunk_size) == (2.5, 3)
    assert config.dit.dim == small.dit.dim and config.view_size == small.view_size  # untouched fields
    assert options == PolicyOptions(cache_policy="kv", max_sessions=4, dtype="bfloat16", mesh="data:2")


def test_no_overrides_keep_the_config_and_the_defaults():
    small = get_config("small")
    assert split_overrides(small, {}) == (small, PolicyOptions())


def test_unknown_keys_and_dtypes_are_named():
    with pytest.raises(ValueError, match=r"unknown DreamZero override\(s\) \['bogus'\]"):
        split_overrides(get_config("small"), {"bogus": 1, "cfg_scale": 1.0})
    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        split_overrides(get_config("small"), {"dtype": "float16"})

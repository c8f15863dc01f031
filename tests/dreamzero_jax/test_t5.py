"""umT5 encoder: relative-position buckets, per-layer biases, masking, and parity with upstream."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import load_file

from dreamzero_jax.conditioning import encode_prompt
from dreamzero_jax.configs.t5 import T5_CONFIGS, TINY
from dreamzero_jax.convert import rules_t5
from dreamzero_jax.convert.apply import expected_checkpoint_shapes
from dreamzero_jax.convert.rules import match
from dreamzero_jax.models.t5 import UMT5Encoder, bucket_matrix, relative_position_bucket
from dreamzero_jax.parity.checks_text_image import SUBDIR, checks, tiny_t5

_forward = nnx.jit(UMT5Encoder.__call__)
_encode_prompt = nnx.jit(encode_prompt)


def _direct_bucket(rel: int, num_buckets: int = 32, max_distance: int = 128) -> int:
    """T5's bidirectional bucket written out for one relative position, in float64."""
    half, exact = num_buckets // 2, num_buckets // 4
    base, dist = (half if rel > 0 else 0), abs(rel)
    if dist < exact:
        return base + dist
    return base + min(
        half - 1, exact + int(math.log(dist / exact) / math.log(max_distance / exact) * (half - exact))
    )


@pytest.fixture(scope="module")
def t5_io(fixtures_dir):
    return np.load(fixtures_dir / SUBDIR / "t5_io.npz")


@pytest.fixture(scope="module")
def model(fixtures_dir):
    with jax.default_matmul_precision("highest"):
        yield tiny_t5(fixtures_dir / SUBDIR)


def test_buckets_match_direct_formula():
    rel = np.arange(-1100, 1100)
    ours = np.asarray(relative_position_bucket(jnp.asarray(rel)))
    np.testing.assert_array_equal(ours, [_direct_bucket(int(r)) for r in rel])
    assert ours.min() == 0 and ours.max() == 31 and 16 not in ours  # rel > 0 implies |rel| >= 1
    assert [int(relative_position_bucket(jnp.asarray(r))) for r in (16, 32, 64, 91, 5000)] == [
        26,
        28,
        30,
        31,
        31,
    ]


def test_bucket_matrix_matches_upstream(t5_io):
    np.testing.assert_array_equal(np.asarray(bucket_matrix(512, 512)), t5_io["aux_rel_bucket"])


def test_each_layer_has_its_own_position_bias(model, t5_io):
    biases = model.position_biases(512)
    for i, bias in enumerate(biases):
        np.testing.assert_allclose(np.asarray(bias)[None], t5_io[f"aux_pos_bias_layer{i}"], atol=1e-6)
    assert not np.allclose(np.asarray(biases[0]), np.asarray(biases[1]))


def test_hidden_states_match_upstream(model, t5_io):
    with jax.default_matmul_precision("highest"):
        out = _forward(model, jnp.asarray(t5_io["in_ids"]), jnp.asarray(t5_io["in_mask"]))
    assert out.shape == (3, 512, TINY.dim)
    np.testing.assert_allclose(np.asarray(out), t5_io["out_hidden"], atol=1e-4)


def test_padding_tokens_do_not_affect_real_tokens(model, t5_io):
    ids, mask = t5_io["in_ids"][2:3].copy(), t5_io["in_mask"][2:3]
    n = int(mask.sum())
    other = ids.copy()
    other[0, n:] = np.arange(other.shape[1] - n) % 250 + 3  # garbage behind the mask
    with jax.default_matmul_precision("highest"):
        a = _forward(model, jnp.asarray(ids), jnp.asarray(mask))
        b = _forward(model, jnp.asarray(other), jnp.asarray(mask))
    np.testing.assert_allclose(np.asarray(a)[0, :n], np.asarray(b)[0, :n], atol=1e-5)
    assert not np.allclose(np.asarray(a)[0, n:], np.asarray(b)[0, n:])


def test_encode_prompt_matches_upstream_zeroing(model, t5_io):
    ids, mask = jnp.asarray(t5_io["in_ids"]), jnp.asarray(t5_io["in_mask"])
    with jax.default_matmul_precision("highest"):
        batch = _encode_prompt(model, ids, mask)
        single = jnp.concatenate([_encode_prompt(model, ids[i : i + 1], mask[i : i + 1]) for i in range(3)])
    assert batch.dtype == jnp.bfloat16
    # one bf16 ulp at |x| ~ 4.6 is 0.03; rounding-boundary flips are the only allowed difference
    np.testing.assert_allclose(np.asarray(batch, np.float32), t5_io["head_prompt_emb_batch"], atol=3.2e-2)
    np.testing.assert_allclose(np.asarray(single, np.float32), t5_io["head_prompt_emb_single"], atol=3.2e-2)
    # upstream zeroes every sample of a batch from the shortest length (17) on
    assert not np.any(np.asarray(batch, np.float32)[:, 17:])
    assert np.all(np.any(np.asarray(single, np.float32)[1, :93] != 0, axis=-1))


def test_rules_cover_every_checkpoint_key(fixtures_dir):
    tensors = load_file(str(fixtures_dir / SUBDIR / "t5_weights.safetensors"))
    targets = [match(rules_t5.RULES, name) for name in tensors]
    assert all(t is not None and t.target for t in targets)
    model = nnx.eval_shape(lambda: UMT5Encoder(TINY, rngs=nnx.Rngs(0)))
    paths = {".".join(map(str, p)) for p, _ in nnx.to_flat_state(nnx.state(model, nnx.Param))}
    assert {t.target for t in targets} == paths
    assert expected_checkpoint_shapes("t5", model) == {k: tuple(v.shape) for k, v in tensors.items()}


def test_real_config_shapes():
    cfg = T5_CONFIGS["droid_14b"]
    model = nnx.eval_shape(lambda: UMT5Encoder(cfg, rngs=nnx.Rngs(0)))
    n_params = sum(int(np.prod(v.shape)) for _, v in nnx.to_flat_state(nnx.state(model, nnx.Param)))
    assert 5.6e9 < n_params < 5.8e9  # README: umT5-XXL encoder 5.68 B
    assert model.blocks[0].attn.q.kernel.shape == (4096, 4096) and len(model.blocks) == 24


def test_checks_yield_nothing_without_fixtures(tmp_path):
    assert list(checks(tmp_path)) == []

"""CausalWanDiT on random weights: shapes, causality of the training forward, cache behaviour,
conversion coverage, and the abstract droid_14b parameter count."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.configs.dit import DIT_CONFIGS, DiTConfig
from dreamzero_jax.convert.apply import expected_checkpoint_shapes, plan
from dreamzero_jax.models.dit import ActionInputs, CausalWanDiT
from dreamzero_jax.models.dit_cache import KVCache
from dreamzero_jax.models.dit_jit import make_forward_cached, make_forward_train
from dreamzero_jax.parity.checks_dit import load_tiny

CFG = DiTConfig.tiny()


@pytest.fixture(scope="module")
def model(fixtures_dir):
    # the fixture's weights (random, of order-1 activations) load faster than a random init compiles
    return load_tiny(fixtures_dir / "dreamzero_tiny")


def _inputs(frames: int, seed: int = 0, batch: int = 1):
    ks = iter(jax.random.split(jax.random.key(seed), 8))
    n = lambda *s: jax.random.normal(next(ks), s)  # noqa: E731
    blocks = (frames - 1) // CFG.num_frame_per_block
    return dict(
        x=n(batch, frames, 8, 12, 16),
        y=n(batch, frames, 8, 12, 20),
        timestep=jnp.full((batch, frames), 700.0),
        context=n(batch, CFG.text_len, CFG.text_dim),
        clip_feature=n(batch, 257, 1280),
        clean_x=n(batch, frames, 8, 12, 16),
        actions=ActionInputs(
            n(batch, 4 * blocks, CFG.action_dim),
            jnp.full((batch, 4 * blocks), 700.0),
            n(batch, blocks, CFG.max_state_dim),
        ),
    )


def test_training_forward_is_block_causal(model):
    state, train = make_forward_train(model)
    inp = _inputs(5)
    video, action = train(state, **inp)
    assert video.shape == (1, 5, 8, 12, 16) and action.shape == (1, 8, CFG.action_dim)
    # change only block 1 (frames 3-4 noisy + clean, its actions and state): frames 0-2 and action block 0 stay
    a = inp["actions"]
    changed = dict(
        inp,
        x=inp["x"].at[:, 3:].add(1.0),
        clean_x=inp["clean_x"].at[:, 3:].add(1.0),
        actions=ActionInputs(a.action.at[:, 4:].add(1.0), a.timestep_action, a.state.at[:, 1].add(1.0)),
    )
    video2, action2 = train(state, **changed)
    np.testing.assert_allclose(video2[:, :3], video[:, :3], atol=1e-5)
    np.testing.assert_allclose(action2[:, :4], action[:, :4], atol=1e-5)
    assert float(jnp.max(jnp.abs(video2[:, 3:] - video[:, 3:]))) > 1e-2
    # clean block 0 influences block 1 (teacher forcing context)
    video3, _ = train(state, **dict(inp, clean_x=inp["clean_x"].at[:, 1:3].add(1.0)))
    assert float(jnp.max(jnp.abs(video3[:, 3:] - video[:, 3:]))) > 1e-3
    np.testing.assert_allclose(video3[:, :3], video[:, :3], atol=1e-5)


def test_cached_forward_fills_cache_and_compiles_once_per_shape(model):
    state, step = make_forward_cached(model)
    inp = _inputs(2)
    common = (inp["context"], inp["clip_feature"])
    cache = KVCache.empty(CFG, 1)
    v0, a0, c1 = step(
        state, inp["x"][:, :1], inp["y"][:, :1], jnp.zeros((1, 1)), *common, cache, jnp.int32(0)
    )
    assert a0 is None and v0.shape == (1, 1, 8, 12, 16) and int(c1.length) == 24
    acts = _inputs(3, seed=1)["actions"]  # one block of actions and state
    args = (inp["x"], inp["y"], jnp.full((1, 2), 500.0), *common)
    v1, a1, c2 = step(state, *args, c1, jnp.int32(1), acts)
    assert a1.shape == (1, 4, CFG.action_dim) and int(c2.length) == 72
    np.testing.assert_array_equal(c2.k[:, :, :24], c1.k[:, :, :24])  # old entries kept in place
    # the cache matters: an empty cache gives a different answer
    v_empty, _, _ = step(state, *args, cache, jnp.int32(1), acts)
    assert float(jnp.max(jnp.abs(v_empty - v1))) > 1e-3
    size = step._cache_size()
    step(state, *args, c2, jnp.int32(3), acts)  # other start frame and cache length: no recompilation
    assert step._cache_size() == size


def test_rules_cover_model_both_ways(model):
    shapes = expected_checkpoint_shapes("dit", model)
    assert len(shapes) == 101
    assert shapes["patch_embedding.weight"] == (64, 36, 1, 2, 2)
    assert shapes["blocks.1.cross_attn.k_img.weight"] == (64, 64)
    assert shapes["action_encoder.W2.W"] == (1, 128, 64)
    _, report = plan(shapes, "dit", model)
    assert report.ok, report.problem_lines()


def test_droid_14b_layer_shapes_abstractly():
    cfg = dataclasses.replace(DIT_CONFIGS["droid_14b"], num_layers=1)
    abstract = nnx.eval_shape(lambda: CausalWanDiT(cfg, rngs=nnx.Rngs(0)))
    assert abstract.blocks[0].ffn.fc1.kernel.shape == (5120, 13824)
    assert abstract.patch_embedding.kernel.shape == (1, 2, 2, 36, 5120)
    assert abstract.head.head.kernel.shape == (5120, 64)
    assert abstract.action_decoder.layer1.W.shape == (1, 5120, 1024)


@pytest.mark.slow
def test_droid_14b_builds_abstractly():
    abstract = nnx.eval_shape(lambda: CausalWanDiT(DIT_CONFIGS["droid_14b"], rngs=nnx.Rngs(0)))
    params = jax.tree.leaves(nnx.state(abstract, nnx.Param))
    total = sum(int(np.prod(p.shape)) for p in params)
    assert 14e9 < total < 17e9, total
    q = abstract.blocks[39].self_attn.q.kernel
    assert q.shape == (5120, 5120)


def test_config_variants():
    assert DIT_CONFIGS["tiny"].local_attn_size == 5 and DIT_CONFIGS["tiny"].max_attention_size == 120
    droid = DIT_CONFIGS["droid_14b"]
    assert (droid.dim, droid.num_layers, droid.num_heads, droid.ffn_dim) == (5120, 40, 40, 13824)
    assert droid.max_attention_size == 9 * 880
    bench = DIT_CONFIGS["bench"]
    assert (bench.dim, bench.num_layers, bench.frame_seqlen, bench.num_action_per_block) == (256, 4, 64, 32)
    with pytest.raises(ValueError, match="heads"):
        DiTConfig(dim=100, num_heads=3)


def test_bfloat16_weights_and_cache_run(model):
    graphdef, state = nnx.split(model)
    m16 = nnx.merge(graphdef, jax.tree.map(lambda a: a.astype(jnp.bfloat16), state))
    inp = _inputs(1)
    cast = lambda a: a.astype(jnp.bfloat16)  # noqa: E731
    args = (
        cast(inp["x"]),
        cast(inp["y"]),
        jnp.zeros((1, 1)),
        cast(inp["context"]),
        cast(inp["clip_feature"]),
    )
    cache = KVCache.empty(CFG, 1, jnp.bfloat16)
    video, _, new = jax.jit(lambda m, c: m.forward_cached(*args, c, 0))(m16, cache)
    ref, _, _ = jax.jit(lambda m, c: m.forward_cached(*args, c, 0))(model, KVCache.empty(CFG, 1))
    assert new.k.dtype == jnp.bfloat16 and int(new.length) == 24
    np.testing.assert_allclose(np.asarray(video, np.float32), ref, atol=0.1)

"""The chunk sampler on a random tiny DiT: KV cache vs full recompute, CFG, compile counts."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.inference.sampler import ChunkSampler, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT
from tests.dreamzero_jax.sampler_inputs import CHUNKS, HW, session_inputs


@pytest.fixture(scope="module")
def setup():
    cfg = dataclasses.replace(DiTConfig.tiny(), max_chunk_size=CHUNKS)
    model = CausalWanDiT(cfg, rngs=nnx.Rngs(7))
    cond, chunk, observed = session_inputs(cfg, seed=0)
    return model, cond, chunk, observed


def run_chunks(model, config: SamplerConfig, cond, chunk, observed):
    """The policy's chunk sequence: fill frame 0, denoise at 1; then fill the observed block, denoise."""
    sampler = ChunkSampler(model, config)
    params, session, outs = nnx.state(model), sampler.new_session(HW), []
    start = 1
    for c, latents in enumerate(observed):
        fill_start = 0 if c == 0 else start - 2
        session = sampler.fill(params, session, latents, cond, jnp.int32(fill_start))
        outs.append(sampler.denoise(params, session, cond, chunk, jnp.int32(start)))
        start += 2
    return outs, sampler


def test_kv_cache_equals_full_recompute_at_every_chunk_and_compiles_once(setup):
    model, cond, chunk, observed = setup
    cached, sampler = run_chunks(model, SamplerConfig(dit_cache="off"), cond, chunk, observed)
    recomputed, _ = run_chunks(
        model, SamplerConfig(dit_cache="off", cache_policy="recompute"), cond, chunk, observed
    )
    for c, (a, b) in enumerate(zip(cached, recomputed, strict=True)):
        np.testing.assert_allclose(a.action, b.action, atol=1e-4, rtol=0, err_msg=f"chunk {c}")
        np.testing.assert_allclose(a.video, b.video, atol=1e-4, rtol=0, err_msg=f"chunk {c}")
        assert int(a.ran.sum()) == 16
    # the history matters: chunks differ although their noise and state are identical
    assert np.abs(np.asarray(cached[0].action) - np.asarray(cached[-1].action)).max() > 1e-3
    # one compilation per fill shape (1 frame, 2 frames) and one denoise, for all chunks
    assert dict(sampler.compiles) == {"fill": 2, "denoise": 1}


def test_cfg_scale_one_is_the_conditional_branch(setup):
    model, cond, chunk, observed = setup
    one, sampler = run_chunks(
        model,
        SamplerConfig(cfg_scale=1.0, dit_cache="off"),
        cond._replace(context=cond.context[:1]),
        chunk,
        observed[:2],
    )
    assert sampler.new_session(HW).cache.k.shape[1] == 1  # no unconditional cache at all
    # a scale just above 1 runs both branches; the mix must then be (almost) the conditional prediction
    near, _ = run_chunks(
        model, SamplerConfig(cfg_scale=1.0 + 1e-6, dit_cache="off"), cond, chunk, observed[:2]
    )
    five, _ = run_chunks(model, SamplerConfig(cfg_scale=5.0, dit_cache="off"), cond, chunk, observed[:2])
    for a, b, c in zip(one, near, five, strict=True):
        np.testing.assert_allclose(a.video, b.video, atol=1e-4, rtol=0)
        np.testing.assert_allclose(a.action, b.action, atol=1e-4, rtol=0)
        assert np.abs(np.asarray(a.video) - np.asarray(c.video)).max() > 1e-2  # guidance changes the video

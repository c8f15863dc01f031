"""Run in a subprocess with 8 forced host devices: the batched chunk step of 8 sessions sharded over the
'data' axis (one session per device) vs the same step unsharded.

``python tests/dreamzero_jax/_batched_sharding_worker.py``; exits non-zero on a mismatch.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.inference.batched import BatchedSampler
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.sharding import DATA, batch_sharding, make_mesh, shard_state

HW, SESSIONS = (8, 12), 8


def inputs(cfg: DiTConfig):
    """Distinct per-session inputs [8, ...]: conditioning, first-frame latents, next block, chunk noise."""
    ks = iter(jax.random.split(jax.random.key(0), 16))
    n = lambda *s: jax.random.normal(next(ks), (SESSIONS, *s))  # noqa: E731
    cond = Conditioning(n(2, cfg.text_len, cfg.text_dim), n(1, 257, 1280), n(1, 5, *HW, 20))
    chunk = ChunkInputs(n(1, 1, cfg.max_state_dim), n(1, 2, *HW, 16), n(1, 4, 8))
    return cond, n(1, 1, *HW, 16), n(1, 2, *HW, 16), chunk


def two_chunks(batched, params, pool, cond, first, block, chunk, put):
    """Sessions start at frame 0 (chunk 0), then sessions 0..3 fill a block and denoise a second chunk
    while 4..7 are still at chunk 0: mixed chunk indices in one sharded call."""
    slots = put(jnp.arange(SESSIONS, dtype=jnp.int32))
    pool = batched.start(params, pool, slots, jax.tree.map(put, cond), put(first))
    out0 = batched.denoise(params, pool, slots, jax.tree.map(put, chunk), put(jnp.ones(SESSIONS, jnp.int32)))
    fill_starts = put(jnp.array([1] * 4 + [99] * 4, jnp.int32))  # 99: rows 4..7 are padding (dropped)
    fill_slots = put(jnp.array([0, 1, 2, 3] + [SESSIONS] * 4, jnp.int32))
    pool = batched.fill(params, pool, fill_slots, put(block), fill_starts)
    starts = put(jnp.array([3] * 4 + [1] * 4, jnp.int32))
    out1 = batched.denoise(params, pool, slots, jax.tree.map(put, chunk), starts)
    return out0, out1


def main() -> None:
    assert jax.device_count() == 8, jax.devices()
    cfg = DiTConfig.tiny()
    model = CausalWanDiT(cfg, rngs=nnx.Rngs(3))
    batched = BatchedSampler(ChunkSampler(model, SamplerConfig(num_steps=4, dit_cache="off")))
    params, data = nnx.state(model), inputs(cfg)
    ref = two_chunks(batched, params, batched.new_pool(SESSIONS, HW, 5), *data, put=lambda a: a)

    mesh = make_mesh(data=8, model=1)
    put = lambda a: jax.device_put(a, batch_sharding(mesh, a.ndim))  # noqa: E731
    pool = jax.tree.map(put, batched.new_pool(SESSIONS, HW, 5))  # slot axis over 'data'
    got = two_chunks(batched, shard_state(params, mesh), pool, *data, put=put)
    assert DATA in tuple(got[1].action.sharding.spec), got[1].action.sharding
    assert len(got[1].action.sharding.device_set) == 8
    errs = [
        float(np.max(np.abs(np.asarray(g, np.float64) - np.asarray(r, np.float64))))
        for g, r in zip(jax.tree.leaves(got), jax.tree.leaves(ref), strict=True)
    ]
    # the two chunks differ (history, start frame): the comparison covers both calls
    assert np.abs(np.asarray(ref[0].action) - np.asarray(ref[1].action))[:4].max() > 1e-3
    print("max_abs_errs", errs)
    assert max(errs) <= 1e-5, errs


if __name__ == "__main__":
    main()

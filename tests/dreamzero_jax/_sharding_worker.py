"""Run in a subprocess with 8 forced host devices: sharded (2x4) vs unsharded tiny-DiT outputs.

``python tests/dreamzero_jax/_sharding_worker.py [--cached]``; exits non-zero on a mismatch.
"""

from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.models.dit import ActionInputs, CausalWanDiT
from dreamzero_jax.models.dit_cache import KVCache
from dreamzero_jax.models.dit_jit import make_forward_cached, make_forward_train
from dreamzero_jax.sharding import MODEL, batch_sharding, make_mesh, shard_state


def main(with_cached: bool) -> None:
    assert jax.device_count() == 8, jax.devices()
    cfg = DiTConfig.tiny()
    model = CausalWanDiT(cfg, rngs=nnx.Rngs(3))
    ks = iter(jax.random.split(jax.random.key(0), 16))
    n = lambda *s: jax.random.normal(next(ks), s)  # noqa: E731
    b, f = 2, 3
    x, y, clean = n(b, f, 8, 12, 16), n(b, f, 8, 12, 20), n(b, f, 8, 12, 16)
    t = jnp.array([[0.0, 500.0, 500.0], [0.0, 900.0, 900.0]])
    ctx, clip = n(b, cfg.text_len, cfg.text_dim), n(b, 257, 1280)
    acts = ActionInputs(n(b, 4, cfg.action_dim), jnp.repeat(t[:, 1:2], 4, axis=1), n(b, 1, cfg.max_state_dim))

    state, train = make_forward_train(model)
    ref = train(state, x, y, t, ctx, clip, clean, acts)
    mesh = make_mesh(data=2, model=4)
    sharded = shard_state(state, mesh)
    q_kernel = sharded["blocks"][0]["self_attn"]["q"]["kernel"]
    assert MODEL in tuple(q_kernel[...].sharding.spec), q_kernel[...].sharding
    put = lambda a: jax.device_put(a, batch_sharding(mesh, a.ndim))  # noqa: E731
    out = train(sharded, put(x), put(y), t, put(ctx), put(clip), put(clean), jax.tree.map(put, acts))
    errs = [float(np.max(np.abs(np.asarray(a) - np.asarray(r)))) for a, r in zip(out, ref, strict=True)]

    if with_cached:
        errs += _cached_errs(model, cfg, mesh, x, y, t, ctx, clip, b)
    print("max_abs_errs", errs)
    assert max(errs) <= 1e-5, errs


def _cached_errs(model, cfg, mesh, x, y, t, ctx, clip, b) -> list[float]:
    state, step = make_forward_cached(model)
    args = (x[:, :1], y[:, :1], t[:, :1], ctx, clip, KVCache.empty(cfg, b), jnp.int32(0))
    ref_v, _, ref_cache = step(state, *args)
    out_v, _, out_cache = step(shard_state(state, mesh), *args)
    return [
        float(np.max(np.abs(np.asarray(out_v) - np.asarray(ref_v)))),
        float(np.max(np.abs(np.asarray(out_cache.k) - np.asarray(ref_cache.k)))),
    ]


if __name__ == "__main__":
    main(with_cached="--cached" in sys.argv)

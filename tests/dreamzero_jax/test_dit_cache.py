"""Static-shape KV cache: append/truncate semantics and one compilation for every cache length."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.models.dit_cache import KVCache, appended_length, window_append


def _tokens(values):
    return jnp.asarray(values, jnp.float32).reshape(1, -1, 1, 1)


def test_window_append_keeps_last_max_tokens():
    buf = jnp.zeros((1, 4, 1, 1)).at[:, :3].set(_tokens([1, 2, 3]))
    full, valid, kept = window_append(buf, jnp.int32(3), _tokens([4, 5]))
    assert full.shape == (1, 6, 1, 1)
    np.testing.assert_array_equal(full.ravel()[:5], [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(valid, [False, True, True, True, True, False])  # 1 falls out
    np.testing.assert_array_equal(kept.ravel(), [2, 3, 4, 5])


def test_window_append_from_empty_and_jit_once():
    calls = []

    @jax.jit
    def f(buf, length, new):
        calls.append(1)
        return window_append(buf, length, new)

    buf = jnp.zeros((1, 6, 1, 1))
    _, valid, kept = f(buf, jnp.int32(0), _tokens([7, 8]))
    np.testing.assert_array_equal(valid, [True, True] + [False] * 6)
    np.testing.assert_array_equal(kept.ravel()[:2], [7, 8])
    _, valid, kept = f(kept, jnp.int32(2), _tokens([9, 10]))
    np.testing.assert_array_equal(kept.ravel()[:4], [7, 8, 9, 10])
    assert len(calls) == 1


def test_empty_cache_shape_and_length():
    cfg = DiTConfig.tiny()
    cache = KVCache.empty(cfg, batch=3)
    assert cache.k.shape == (2, 3, 120, 2, 32) and int(cache.length) == 0
    assert int(appended_length(cache, 24)) == 24
    full = KVCache(cache.k, cache.v, jnp.int32(110))
    assert int(appended_length(full, 24)) == 120
    assert jax.tree.leaves(cache)[0].shape == cache.k.shape  # a pytree: passes through jit

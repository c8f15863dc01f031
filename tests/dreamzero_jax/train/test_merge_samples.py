"""Several datasets train one model: their sample sets concatenate, and every window keeps its own
dataset's prompt context (expert demonstrations + DAgger episodes, ``--data DIR DIR``)."""

from __future__ import annotations

import numpy as np

from dreamzero_jax.train.prepare import merge_samples
from dreamzero_jax.train.sample_cache import CachedSamples, EncodedWindows


def _samples(n: int, prompts: int, base: float) -> CachedSamples:
    """``n`` windows whose every array holds ``base + window``, over ``prompts`` contexts valued
    ``base + 100 + prompt`` (each window uses context ``window % prompts``)."""
    value = base + np.arange(n, dtype=np.float32)
    enc = EncodedWindows(
        latents=np.broadcast_to(value[:, None, None, None, None], (n, 2, 1, 1, 3)).copy(),
        y=np.broadcast_to(value[:, None, None, None, None], (n, 2, 1, 1, 4)).copy(),
        task_index=(np.arange(n) % prompts).astype(np.int32),
        contexts=np.broadcast_to(
            (base + 100 + np.arange(prompts, dtype=np.float32))[:, None, None], (prompts, 2, 5)
        ).copy(),
        image_features=np.full((1, 3, 2), 7.0, np.float32),
        episode=np.arange(n, dtype=np.int32),
    )
    actions = np.broadcast_to(value[:, None, None], (n, 4, 8)).copy()
    return CachedSamples(enc, actions, np.broadcast_to(value[:, None, None], (n, 1, 8)).copy())


def test_merged_windows_keep_their_own_prompt_context():
    demos, dagger = _samples(3, prompts=2, base=0.0), _samples(4, prompts=1, base=1000.0)
    merged = merge_samples([demos, dagger])
    assert len(merged) == 7
    batch = merged.batch(np.arange(7))
    window = np.asarray(batch.latents)[:, 0, 0, 0, 0]
    np.testing.assert_array_equal(window, [0, 1, 2, 1000, 1001, 1002, 1003])
    np.testing.assert_array_equal(np.asarray(batch.actions)[:, 0, 0], window)
    np.testing.assert_array_equal(np.asarray(batch.state)[:, 0, 0], window)
    # demos' windows alternate between their two prompts; every DAgger window has the DAgger prompt
    np.testing.assert_array_equal(np.asarray(batch.context)[:, 0, 0], [100, 101, 100, 1100, 1100, 1100, 1100])


def test_one_dataset_is_returned_as_is():
    demos = _samples(3, prompts=1, base=0.0)
    assert merge_samples([demos]) is demos

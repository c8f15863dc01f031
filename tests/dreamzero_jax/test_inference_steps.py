"""Frame preparation, normalisation and the compile counter (fast, no model)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from dreamzero_jax.inference.compile_counter import CompileCounter, counted_jit
from dreamzero_jax.inference.frames import FRAMES_PER_CHUNK, FrameBuffer, block_clip, reset_image
from dreamzero_jax.normalization import MinMax, NormStats, default_stats


def test_frame_buffer_gives_one_frame_then_four_padded():
    buf = FrameBuffer((4, 6))
    obs = {k: np.full((8, 12, 3), i, np.uint8) for i, k in enumerate(buf.cameras)}
    first = buf.push(obs)
    assert first.shape == (1, 8, 12, 3)
    second = buf.push({k: v + 10 for k, v in obs.items()})
    assert second.shape == (FRAMES_PER_CHUNK, 8, 12, 3)
    # padded at the front with the oldest frame; wrist (view 2) on top, exterior 0 bottom-left
    assert [int(f[0, 0, 0]) for f in second] == [2, 2, 2, 12]
    assert int(second[-1, -1, 0, 0]) == 10
    with pytest.raises(KeyError, match="wrist_image_left"):
        buf.push({"exterior_image_0_left": obs["exterior_image_0_left"]})


def test_block_clip_follows_the_heads_frame_rules():
    frames = np.arange(4)[:, None]
    assert block_clip(frames, 2)[:, 0].tolist() == [0, 0, 0, 1, 1, 2, 2, 3, 3]  # repeat x2, prepend first
    assert block_clip(np.arange(8)[:, None], 2)[:, 0].tolist() == [0, *range(8)]  # prepend only
    assert block_clip(np.arange(9)[:, None], 2).shape[0] == 9  # already 1 + 4 * 2
    assert (
        reset_image(np.arange(4)) == 3 and reset_image(np.arange(1)) == 0 and reset_image(np.arange(5)) == 0
    )


def test_min_max_round_trip_and_json(tmp_path):
    stats = default_stats()
    x = np.array([0.1, -0.5, 0.2, -2.0, 0.0, 1.5, 0.3, 0.8])
    z = stats.state.normalize(x)
    assert np.all(np.abs(z) <= 1) and z[7] == pytest.approx(0.6)
    np.testing.assert_allclose(stats.action.denormalize(z), x, atol=1e-6)
    stats.save(tmp_path / "normalization.json")
    loaded = NormStats.load(tmp_path)
    np.testing.assert_array_equal(loaded.action.high, stats.action.high)
    assert MinMax(np.zeros(1), np.zeros(1)).normalize(np.zeros(1))[0] == -1  # constant dim: no division by 0
    with pytest.raises(FileNotFoundError, match=r"normalization\.json"):
        NormStats.load(tmp_path / "absent")


def test_compile_counter_counts_traces_not_calls():
    counter = CompileCounter()
    f = counted_jit(lambda x: x * 2, counter, "double")
    for _ in range(3):
        f(jnp.ones(3))
    assert counter["double"] == 1
    f(jnp.ones(4))
    assert counter.total == 2
    jax.block_until_ready(f(jnp.ones(4)))
    assert counter.total == 2

"""Token layout of the DiT: the block-causal training mask and RoPE rows of cached calls."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from dreamzero_jax.configs.dit import ROPE_ACTION_ROWS, ROPE_STATE_ROWS, DiTConfig
from dreamzero_jax.models.dit_layout import TrainLayout, cached_rope, train_attention_mask, train_rope
from dreamzero_jax.nn.rope import rope_table


def test_mask_equals_upstream_fixture(fixtures_dir):
    cfg = DiTConfig.tiny()
    mask = train_attention_mask(TrainLayout.of(cfg, 5), cfg.local_attn_size)
    ref = np.load(fixtures_dir / "dreamzero_tiny" / "forward_train.npz")["aux_attn_mask"] > 0.5
    assert mask.shape == (250, 250) and int(mask.sum()) == 20874
    np.testing.assert_array_equal(mask, ref)


def test_mask_rules_on_small_layout():
    # 1 token per frame, 2 frames per block, 5 frames -> clean 0..4, noisy 5..9, actions 10..13, states 14..15
    lay = TrainLayout(
        num_frames=5, frame_seqlen=1, num_frame_per_block=2, num_action_per_block=2, num_state_per_block=1
    )
    m = train_attention_mask(lay)
    assert lay.total == 16
    assert list(np.flatnonzero(m[0])) == [0]  # clean frame 0
    assert list(np.flatnonzero(m[3])) == [0, 1, 2, 3, 4]  # clean block 1 sees clean 0..4
    assert list(np.flatnonzero(m[5])) == [5]  # noisy frame 0 only itself
    assert list(np.flatnonzero(m[8])) == [0, 1, 2, 8, 9, 12, 13, 15]  # noisy block 1
    assert list(np.flatnonzero(m[10])) == [0, 6, 7, 10, 11, 14]  # action block 0
    assert list(np.flatnonzero(m[15])) == [15]  # state block 1


def test_local_window_cuts_old_clean_frames():
    lay = TrainLayout(
        num_frames=7, frame_seqlen=1, num_frame_per_block=2, num_action_per_block=1, num_state_per_block=1
    )
    m = train_attention_mask(lay, local_attn_size=3)
    # clean block 2 = frames 5,6: window of 3 frames -> frames 4..6 plus frame 0
    assert list(np.flatnonzero(m[5])) == [0, 4, 5, 6]
    assert m[:7, :7].sum() < train_attention_mask(lay)[:7, :7].sum()


def test_layout_rejects_partial_blocks():
    with pytest.raises(ValueError, match="multiple of num_frame_per_block"):
        TrainLayout.of(DiTConfig.tiny(), 4)


def test_train_rope_rows():
    cfg = DiTConfig.tiny()
    lay = TrainLayout.of(cfg, 5)
    cos, _ = train_rope(cfg, lay, (5, 4, 6))
    assert cos.shape == (250, 16)
    np.testing.assert_array_equal(cos[:120], cos[120:240])  # clean and noisy share positions
    np.testing.assert_array_equal(cos[240:248], rope_table(ROPE_ACTION_ROWS, 32)[0][:8])
    np.testing.assert_array_equal(cos[248:250], rope_table(ROPE_STATE_ROWS, 32)[0][:2])


def test_cached_rope_uses_block_rows_of_start_frame():
    cfg = dataclasses.replace(DiTConfig.tiny(), num_action_per_block=4)
    cos, _ = cached_rope(cfg, (2, 4, 6), jnp.int32(3), with_actions=True)
    assert cos.shape == (48 + 4 + 1, 16)
    np.testing.assert_array_equal(cos[48:52], rope_table(ROPE_ACTION_ROWS, 32)[0][4:8])  # block k = 1
    np.testing.assert_array_equal(cos[52], rope_table(ROPE_STATE_ROWS, 32)[0][1])
    assert cached_rope(cfg, (1, 4, 6), 0, with_actions=False)[0].shape == (24, 16)

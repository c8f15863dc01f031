"""Training windows equal what DreamZeroPolicy's frame handling produces at its call times."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from dreamzero_jax.configs import get_config
from dreamzero_jax.data.lerobot import Episode
from dreamzero_jax.inference.frames import DROID_CAMERAS, FrameBuffer, block_clip, reset_image
from dreamzero_jax.train.samples import (
    action_chunk,
    check_layout,
    label_rows,
    phase_offsets,
    reset_calls,
    window_episode,
    window_labels,
    window_pixels,
    windows_of,
)

LENGTH = 29  # not a multiple of any horizon: the last call sees a partial chunk


def episode(view_size, length=LENGTH):
    """Frames whose pixels encode (camera, row), states/actions whose values encode the row."""
    h, w = view_size
    frames = {
        cam: np.stack([np.full((h, w, 3), 10 * c + t, np.uint8) for t in range(length)])
        for c, cam in enumerate(DROID_CAMERAS)
    }
    state = np.arange(length, dtype=np.float32)[:, None] + np.arange(8, dtype=np.float32) / 10
    action = -state
    return frames, state, action


def policy_view(config, frames, length):
    """Replay the policy's frame handling: one FrameBuffer push per call, resets as its start_frame rule."""
    dit, horizon = config.dit, config.action_horizon
    buffer = FrameBuffer(config.view_size)
    seen, start_frame = [], 0
    for call in range(-(-length // horizon)):
        row = min(call * horizon, length - 1)
        clip = buffer.push({cam: frames[cam][row] for cam in DROID_CAMERAS})
        if clip.shape[0] == 1 or start_frame >= dit.local_attn_size:
            start_frame = 0
        seen.append(
            (start_frame == 0, reset_image(clip), block_clip(clip, dit.num_frame_per_block) if call else None)
        )
        start_frame = (1 if start_frame == 0 else start_frame) + dit.num_frame_per_block
    return seen


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_windows_match_the_policy_frames_at_call_times(name):
    config = get_config(name)
    check_layout(config)
    frames, state, action = episode(config.view_size)
    seen = policy_view(config, frames, LENGTH)
    resets = reset_calls(LENGTH, config.action_horizon, config.dit.max_chunk_size)
    assert resets == [call for call, (is_reset, _, _) in enumerate(seen) if is_reset]
    horizon, apb = config.action_horizon, config.dit.num_action_per_block
    rel = config.relative_action_dims
    for call in resets:
        reset, clips = window_pixels(config, frames, DROID_CAMERAS, LENGTH, call)
        labels = window_labels(config, state, action, call)
        np.testing.assert_array_equal(reset, seen[call][1])
        for j in range(config.dit.max_chunk_size):
            nxt = call + j + 1
            if nxt < len(seen):  # the clip the policy encodes at the next call
                np.testing.assert_array_equal(clips[j], seen[nxt][2])
            k = call + j
            at_call = state[min(k * horizon, LENGTH - 1)]
            np.testing.assert_array_equal(labels.states[j], at_call)
            expected = action_chunk(action, k * horizon, apb).copy()
            expected[:, :rel] -= at_call[:rel]  # relative configs predict offsets from the state at the call
            np.testing.assert_array_equal(labels.actions[j * apb : (j + 1) * apb], expected)


def test_relative_labels_are_offsets_from_the_state_at_the_emitting_call():
    # 7 relative joint dims, absolute gripper, horizon 8
    config = dataclasses.replace(get_config("small"), relative_action_dims=7)
    _, state, action = episode(config.view_size)
    rows = label_rows(config, state, action)
    # row 10 is emitted by the call at step 8: joints relative to state[8], gripper absolute
    np.testing.assert_allclose(rows[10, :7], action[10, :7] - state[8, :7])
    assert rows[10, 7] == action[10, 7]
    window = window_labels(config, state, action, 1)
    np.testing.assert_allclose(window.actions[2], rows[10])


def test_action_chunks_follow_the_call_and_repeat_the_last_label():
    action = np.arange(10, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(action_chunk(action, 8, 4)[:, 0], [8, 9, 9, 9])
    np.testing.assert_array_equal(action_chunk(action, 0, 3)[:, 0], [0, 1, 2])


def test_layout_refuses_a_horizon_that_is_not_one_block():
    import dataclasses

    bad = dataclasses.replace(get_config("small"), action_horizon=4)
    with pytest.raises(ValueError, match="must equal num_action_per_block"):
        check_layout(bad)


def test_phase_offsets_are_even_and_bounded():
    assert phase_offsets(8, 1) == [0]
    assert phase_offsets(8, 4) == [0, 2, 4, 6]
    assert phase_offsets(8, 8) == list(range(8))
    with pytest.raises(ValueError, match="phases"):
        phase_offsets(8, 9)


def test_offset_windows_are_the_policy_view_of_the_episode_begun_at_the_offset():
    """A window at offset o is what the policy sees (frames, state, labels) when the episode starts at row o."""
    config = get_config("small")
    horizon, apb = config.action_horizon, config.dit.num_action_per_block
    frames, state, action = episode(config.view_size)
    ep = Episode(index=7, task="lift", embodiment="panda", state=state, action=action, frames=frames)
    for offset in (2, 5):
        windows = windows_of(config, [ep], offset)
        assert [w.call for w in windows] == list(range(-(-(LENGTH - offset) // horizon)))
        shifted = window_episode([ep], windows[0])
        seen = policy_view(config, {k: v[offset:] for k, v in frames.items()}, LENGTH - offset)
        for w in windows:
            reset, clips = window_pixels(config, shifted.frames, DROID_CAMERAS, len(shifted), w.call)
            np.testing.assert_array_equal(reset, seen[w.call][1])
            if w.call + 1 < len(seen):
                np.testing.assert_array_equal(clips[0], seen[w.call + 1][2])
            labels = window_labels(config, shifted.state, shifted.action, w.call)
            row = min(offset + w.call * horizon, LENGTH - 1)
            np.testing.assert_array_equal(labels.states[0], state[row])
            expected = action_chunk(action, row, apb).copy()
            expected[:, : config.relative_action_dims] -= state[row, : config.relative_action_dims]
            np.testing.assert_array_equal(labels.actions[:apb], expected)

"""Training samples laid out exactly as :class:`~dreamzero_jax.inference.policy.DreamZeroPolicy` sees an episode.

The policy is called every ``action_horizon`` control steps (the open-loop horizon: one action block per
call). At call ``k`` its :class:`~dreamzero_jax.inference.frames.FrameBuffer` holds the frames of calls
``k-3 .. k`` (one frame per call, padded at the front with the oldest), and its sequence restarts at a
*reset call* every ``max_chunk_size`` calls (when ``start_frame`` reaches the attention window). A sample is
one such window, starting at reset call ``c``:

* latent frame 0 and ``y``: the VAE of [frame of call ``c``, ``num_frames - 1`` mid-grey frames]
  (``build_y``: what the policy computes at a reset);
* video block ``j`` (``j < max_chunk_size``): the last ``num_frame_per_block`` latents of the VAE of
  ``block_clip(buffer at call c + j + 1)`` -- what the policy encodes into its cache at the next call;
* action block ``j``: the labels of the ``num_action_per_block`` steps after call ``c + j`` (the last label
  repeats past the episode's end); state block ``j``: the state at call ``c + j``.

Everything here is numpy on uint8 canvases; :mod:`.sample_cache` runs the frozen encoders over them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.data.lerobot import Episode
from dreamzero_jax.inference.frames import FRAMES_PER_CHUNK, block_clip
from dreamzero_jax.views import layout_views


@dataclass(frozen=True)
class Window:
    """One sample: ``episode`` (position in the episode list) and its reset call ``call``, counted in the
    episode as seen from step ``offset`` on (see :func:`phase_offsets`)."""

    episode: int
    call: int
    offset: int = 0


def num_calls(length: int, horizon: int) -> int:
    """Policy calls in an episode of ``length`` steps with one call every ``horizon`` steps."""
    return -(-length // horizon)


def reset_calls(length: int, horizon: int, blocks: int) -> list[int]:
    """The calls at which the policy restarts its sequence: 0, blocks, 2 * blocks, ..."""
    return list(range(0, num_calls(length, horizon), blocks))


def phase_offsets(horizon: int, phases: int) -> list[int]:
    """First steps of ``phases`` evenly spaced views of an episode: 0, horizon / phases, ...

    The policy is called at steps 0, horizon, 2 * horizon, ...; a window cut from the episode as if it began
    at step ``offset`` is what the policy would see had the episode started there. Every call of the small
    configs is a reset (one block per window), so these windows are exact call-time samples of states the
    expert visited, and ``phases`` multiplies the training samples per demonstration.
    """
    if not 1 <= phases <= horizon:
        raise ValueError(f"phases must be in [1, action_horizon={horizon}], got {phases}")
    return [round(i * horizon / phases) for i in range(phases)]


def episode_from(episode: Episode, offset: int) -> Episode:
    """``episode`` as if it began at step ``offset`` (views of its arrays, no copies)."""
    if offset == 0:
        return episode
    frames = {key: video[offset:] for key, video in episode.frames.items()}
    return dataclasses.replace(
        episode, state=episode.state[offset:], action=episode.action[offset:], frames=frames
    )


def windows_of(config: ModelConfig, episodes: Sequence[Episode], offset: int = 0) -> list[Window]:
    """Every training window of ``episodes`` seen from step ``offset`` on, in a fixed order (episode, call)."""
    horizon, blocks = config.action_horizon, config.dit.max_chunk_size
    return [
        Window(i, c, offset)
        for i, ep in enumerate(episodes)
        if offset < len(ep)
        for c in reset_calls(len(ep) - offset, horizon, blocks)
    ]


def window_episode(episodes: Sequence[Episode], window: Window) -> Episode:
    """The (offset) episode a window is cut from."""
    return episode_from(episodes[window.episode], window.offset)


def call_step(call: int, horizon: int, length: int) -> int:
    """The step (row) whose observation the policy sees at ``call``; past the end, the last row."""
    return min(call * horizon, length - 1)


def buffer_steps(call: int, horizon: int, length: int) -> list[int]:
    """Rows of the frames the FrameBuffer returns at ``call`` (>= 1): calls call-3..call, oldest-padded."""
    calls = list(range(max(0, call - FRAMES_PER_CHUNK + 1), call + 1))
    calls = [calls[0]] * (FRAMES_PER_CHUNK - len(calls)) + calls
    return [call_step(c, horizon, length) for c in calls]


def action_chunk(actions: np.ndarray, start: int, count: int) -> np.ndarray:
    """Rows ``start .. start+count-1`` of ``actions``; the last row repeats past the end."""
    rows = np.minimum(np.arange(start, start + count), len(actions) - 1)
    return actions[rows]


def canvases(frames: dict[str, np.ndarray], cameras: tuple[str, ...], rows: list[int]) -> np.ndarray:
    """The DROID-layout canvases [len(rows), 2H, 2W, 3] of the given rows (views in ``cameras`` order)."""
    views = np.stack([frames[c][rows] for c in cameras], axis=1)  # [T, V, H, W, 3]
    return layout_views(views, "droid")


def relative_actions(actions: np.ndarray, state: np.ndarray, dims: int) -> np.ndarray:
    """``actions`` with their first ``dims`` values made relative to ``state`` (the state at the call)."""
    out = np.array(actions, np.float32, copy=True)
    out[..., :dims] -= state[..., :dims]
    return out


def label_rows(config: ModelConfig, state: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Every row's action label as the model predicts it: relative to the state at the call that emits it."""
    calls = np.arange(len(action)) // config.action_horizon
    at_call = state[np.minimum(calls * config.action_horizon, len(state) - 1)]
    return relative_actions(action, at_call, config.relative_action_dims)


@dataclass(frozen=True)
class WindowLabels:
    """The raw (unnormalised) targets of one sample."""

    actions: np.ndarray  # [blocks * num_action_per_block, Da] labels (relative where the config says)
    states: np.ndarray  # [blocks, Ds] states at the calls


def window_labels(config: ModelConfig, state: np.ndarray, action: np.ndarray, call: int) -> WindowLabels:
    """Action blocks and states of the window starting at reset call ``call`` (see module docstring)."""
    horizon, length, apb = config.action_horizon, len(state), config.dit.num_action_per_block
    rows = label_rows(config, state, action)  # past the end, the last row's label repeats (same call)
    calls = range(call, call + config.dit.max_chunk_size)
    acts = [action_chunk(rows, k * horizon, apb) for k in calls]
    return WindowLabels(np.concatenate(acts), np.stack([state[call_step(k, horizon, length)] for k in calls]))


def window_pixels(
    config: ModelConfig, frames: dict[str, np.ndarray], cameras: tuple[str, ...], length: int, call: int
):
    """(reset canvas [2H, 2W, 3], block clips [blocks, T, 2H, 2W, 3]) of the window starting at ``call``:
    the frame the reset conditions on, and each block's VAE clip (block_clip of the next call's buffer)."""
    dit, horizon = config.dit, config.action_horizon
    reset = canvases(frames, cameras, [call_step(call, horizon, length)])[0]
    clips = [
        block_clip(canvases(frames, cameras, buffer_steps(k + 1, horizon, length)), dit.num_frame_per_block)
        for k in range(call, call + dit.max_chunk_size)
    ]
    return reset, np.stack(clips)


def check_layout(config: ModelConfig) -> None:
    """Refuse configs whose calls and blocks do not line up as this layout assumes."""
    dit = config.dit
    if dit.max_chunk_size < 1:
        raise ValueError(
            f"config {config.name!r}: training needs a local attention window (max_chunk_size >= 1)"
        )
    if dit.num_action_per_block != config.action_horizon:
        raise ValueError(
            f"config {config.name!r}: action_horizon {config.action_horizon} must equal num_action_per_block "
            f"{dit.num_action_per_block} (one action block per policy call)"
        )
    if config.latent_frames != 1 + dit.max_chunk_size * dit.num_frame_per_block:
        raise ValueError(
            f"config {config.name!r}: num_frames {config.num_frames} gives {config.latent_frames} latent frames, "
            f"not the window's 1 + {dit.max_chunk_size} x {dit.num_frame_per_block}"
        )

"""Token layout of the DreamZero DiT: sequence order, the block-causal training mask, RoPE positions.

Training (teacher forcing) sequence, per self-attention layer:
``[clean video (F*S)] [noisy video (F*S)] [action tokens (K*A)] [state tokens (K*P)]`` with S tokens
per latent frame, K = (F-1)/num_frame_per_block blocks, A actions and P states per block. Latent
frame 0 stands alone; block k holds frames 1+k*nfpb .. (k+1)*nfpb.

Cached inference sequence: ``[new video (F*S)] [actions (A)] [state (P)]`` (actions only in
denoising calls), attending to the cache without a mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from dreamzero_jax.configs.dit import (
    ROPE_ACTION_ROWS,
    ROPE_STATE_ROWS,
    ROPE_THETA,
    ROPE_VIDEO_ROWS,
    DiTConfig,
)
from dreamzero_jax.nn.rope import rope_table, table_rows, video_rope

CLEAN, NOISY, ACTION, STATE = 0, 1, 2, 3


@dataclass(frozen=True)
class TrainLayout:
    """Token counts of a teacher-forcing sequence with ``num_frames`` latent frames."""

    num_frames: int
    frame_seqlen: int
    num_frame_per_block: int
    num_action_per_block: int
    num_state_per_block: int

    @property
    def num_blocks(self) -> int:
        return (self.num_frames - 1) // self.num_frame_per_block

    @property
    def video(self) -> int:
        return self.num_frames * self.frame_seqlen

    @property
    def actions(self) -> int:
        return self.num_blocks * self.num_action_per_block

    @property
    def states(self) -> int:
        return self.num_blocks * self.num_state_per_block

    @property
    def total(self) -> int:
        return 2 * self.video + self.actions + self.states

    @classmethod
    def of(cls, cfg: DiTConfig, num_frames: int) -> TrainLayout:
        if num_frames < 1 or (num_frames - 1) % cfg.num_frame_per_block:
            raise ValueError(
                f"num_frames {num_frames} must be 1 + a multiple of num_frame_per_block {cfg.num_frame_per_block}"
            )
        return cls(
            num_frames,
            cfg.frame_seqlen,
            cfg.num_frame_per_block,
            cfg.num_action_per_block,
            cfg.num_state_per_block,
        )


def _token_tables(layout: TrainLayout) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per token: kind (CLEAN/NOISY/ACTION/STATE), block index (-1 = frame 0), video frame (-1 = none)."""
    frames = np.repeat(np.arange(layout.num_frames), layout.frame_seqlen)
    vblock = np.where(frames == 0, -1, (frames - 1) // layout.num_frame_per_block)
    ablock = np.arange(layout.actions) // layout.num_action_per_block
    sblock = np.arange(layout.states) // layout.num_state_per_block
    kind = np.concatenate(
        [
            np.full(layout.video, CLEAN),
            np.full(layout.video, NOISY),
            np.full(layout.actions, ACTION),
            np.full(layout.states, STATE),
        ]
    )
    block = np.concatenate([vblock, vblock, ablock, sblock])
    frame = np.concatenate([frames, frames, np.full(layout.actions + layout.states, -1)])
    return kind, block, frame


def train_attention_mask(layout: TrainLayout, local_attn_size: int = -1) -> np.ndarray:
    """Boolean [T, T] mask (query rows, key columns; True = may attend) of the teacher-forcing forward.

    - clean frame 0 sees clean frame 0; clean block k sees clean frame 0 and the clean frames of
      blocks <= k inside the local window of ``local_attn_size`` frames (-1 = unlimited);
    - noisy frame 0 sees only itself (not even clean frame 0);
    - noisy block k and action block k see clean frame 0, clean blocks < k (no window: upstream
      applies none there), and noisy block k, action block k, state block k;
    - state block k sees only itself.
    """
    kind, block, frame = _token_tables(layout)
    qk, qb = kind[:, None], block[:, None]
    kk, kb, kf = kind[None, :], block[None, :], frame[None, :]

    end_frame = 1 + (qb + 1) * layout.num_frame_per_block  # exclusive
    start_frame = 1 if local_attn_size == -1 else np.maximum(1, end_frame - local_attn_size)
    clean_q = (
        (qk == CLEAN) & (kk == CLEAN) & ((kb == -1) | ((qb >= 0) & (kf >= start_frame) & (kf < end_frame)))
    )
    noisy_first = (qk == NOISY) & (qb == -1) & (kk == NOISY) & (kb == -1)
    noisy_or_action = ((qk == NOISY) | (qk == ACTION)) & (qb >= 0)
    sees = ((kk == CLEAN) & (kb < qb)) | ((kk != CLEAN) & (kb == qb))
    state = (qk == STATE) & (kk == STATE) & (kb == qb)
    return clean_q | noisy_first | (noisy_or_action & sees) | state


def _action_state_rope(cfg: DiTConfig, action_start, num_actions: int, state_start, num_states: int):
    hd = cfg.head_dim
    ac, as_ = table_rows(rope_table(ROPE_ACTION_ROWS, hd, ROPE_THETA), action_start, num_actions)
    sc, ss = table_rows(rope_table(ROPE_STATE_ROWS, hd, ROPE_THETA), state_start, num_states)
    return (ac, sc), (as_, ss)


def train_rope(
    cfg: DiTConfig, layout: TrainLayout, grid: tuple[int, int, int]
) -> tuple[jax.Array, jax.Array]:
    """(cos, sin) [T, H/2] for the teacher-forcing sequence.

    Clean and noisy video share positions (frame, row, column); action token j uses row j of the
    action table and state token k row k of the state table.
    """
    vc, vs = video_rope(cfg.rope_split, grid, 0, ROPE_VIDEO_ROWS, ROPE_THETA)
    (ac, sc), (as_, ss) = _action_state_rope(cfg, 0, layout.actions, 0, layout.states)
    return jnp.concatenate([vc, vc, ac, sc]), jnp.concatenate([vs, vs, as_, ss])


def cached_rope(
    cfg: DiTConfig, grid: tuple[int, int, int], start_frame, with_actions: bool
) -> tuple[jax.Array, jax.Array]:
    """(cos, sin) for a cached call's queries: new frames at absolute positions from ``start_frame``.

    Actions/state (one block) use the table rows of training block ``(start_frame - 1) // nfpb``, so a
    chunk sees the positions it had during training. ``start_frame`` may be traced.
    """
    vc, vs = video_rope(cfg.rope_split, grid, start_frame, ROPE_VIDEO_ROWS, ROPE_THETA)
    if not with_actions:
        return vc, vs
    k = jnp.floor_divide(jnp.asarray(start_frame, jnp.int32) - 1, cfg.num_frame_per_block)
    na, ns = cfg.num_action_per_block, cfg.num_state_per_block
    (ac, sc), (as_, ss) = _action_state_rope(cfg, k * na, na, k * ns, ns)
    return jnp.concatenate([vc, ac, sc]), jnp.concatenate([vs, as_, ss])

"""Observation frames -> the video clips the policy head encodes (upstream DROID server + head rules).

:class:`FrameBuffer` does what the original server (``socket_test_optimized_AR.py``) does with
RoboArena's one-frame-per-call observations: the first call after a reset yields 1 frame, every later
call the last ``FRAMES_PER_CHUNK`` frames (padded at the front with the oldest one while fewer exist).
Our ``exterior_image_0_left`` / ``exterior_image_1_left`` are the original's ``exterior_image_1_left`` /
``exterior_image_2_left``; the three views are packed into one canvas by :mod:`dreamzero_jax.views`.

:func:`block_clip` is the head's preparation of a non-reset call's frames for the VAE (repeat frames so
that the clip encodes to ``num_frame_per_block`` new latent frames, then prepend the first frame).
"""

from __future__ import annotations

from collections import deque

import numpy as np
from PIL import Image

from dreamzero_jax.views import layout_views

FRAMES_PER_CHUNK = 4
# Our observation keys in the original's view order (exterior 1, exterior 2, wrist).
DROID_CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")


def resize(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [H, W, 3] -> [size[0], size[1], 3] (bilinear; identity when the size already matches)."""
    if frame.shape[:2] == tuple(size):
        return frame
    return np.asarray(Image.fromarray(frame).resize((size[1], size[0]), Image.BILINEAR))


class FrameBuffer:
    """The last ``FRAMES_PER_CHUNK`` canvases of an episode (DROID layout of the three views)."""

    def __init__(
        self, view_size: tuple[int, int], cameras: tuple[str, ...] = DROID_CAMERAS, layout: str = "droid"
    ):
        self.view_size, self.cameras, self.layout = tuple(view_size), cameras, layout
        self._frames: deque[np.ndarray] = deque(maxlen=FRAMES_PER_CHUNK)
        self.calls = 0

    def reset(self) -> None:
        self._frames.clear()
        self.calls = 0

    def push(self, obs: dict) -> np.ndarray:
        """Add one observation; return the clip for this call, uint8 [T, 2H, 2W, 3] (T = 1 first, then 4)."""
        missing = [k for k in self.cameras if k not in obs]
        if missing:
            raise KeyError(f"observation lacks camera(s) {missing}; DreamZero needs {list(self.cameras)}")
        views = np.stack([resize(np.asarray(obs[k], np.uint8), self.view_size) for k in self.cameras])
        self._frames.append(layout_views(views, self.layout))
        self.calls += 1
        if self.calls == 1:
            return self._frames[-1][None]
        frames = list(self._frames)
        frames = [frames[0]] * (FRAMES_PER_CHUNK - len(frames)) + frames  # pad with the oldest, as upstream
        return np.stack(frames)


def block_clip(frames: np.ndarray, num_frame_per_block: int) -> np.ndarray:
    """The head's clip for a non-reset call: [T, ...] -> frames whose VAE latent ends with the new block."""
    t = frames.shape[0]
    if (t - 1) // 4 == num_frame_per_block:  # already 1 + 4 * nfpb frames
        return frames
    if t // 4 != num_frame_per_block:
        if t < 4:
            raise ValueError(f"a non-reset call needs at least 4 frames, got {t}")
        frames = np.repeat(frames, num_frame_per_block // (t // 4), axis=0)  # repeat_interleave in time
    return np.concatenate([frames[:1], frames], axis=0)


def reset_image(frames: np.ndarray) -> np.ndarray:
    """The frame a reset conditions on: the last of 4 or 9 frames (upstream's real-world case), else the first."""
    return frames[-1] if frames.shape[0] in (4, 9) else frames[0]

"""Camera-view layout and pixel conversion: how DreamZero turns several cameras into one video.

DreamZero's world model sees a single video. Multi-camera embodiments are packed into one canvas of twice
the view height and width before anything else happens (upstream `DreamTransform._prepare_video`):

DROID (views in `video_concat_order`: 0 = exterior_image_1_left, 1 = exterior_image_2_left, 2 = wrist)::

    +-----------------------+
    |   wrist (2x wide)     |      every wrist column duplicated (nearest-neighbour), not tiled
    +-----------+-----------+
    | exterior1 | exterior2 |
    +-----------+-----------+

Other multi-view embodiments (the generic 2x2 grid)::

    +--------+--------+
    | view 0 | view 2 |
    +--------+--------+
    | view 1 | black  |
    +--------+--------+

A single view is passed through unchanged. Layout is done on the host in numpy on uint8 pixels (exact);
`to_signed_unit` then maps uint8 to the [-1, 1] floats the encoders consume.
"""

from __future__ import annotations

from collections.abc import Callable

import jax.numpy as jnp
import numpy as np

# DROID camera keys in the order `droid_layout` expects them (upstream `video_concat_order`).
DROID_VIEW_ORDER = ("exterior_image_1_left", "exterior_image_2_left", "wrist_image_left")


def droid_layout(views: np.ndarray) -> np.ndarray:
    """DROID layout of ``views`` [..., V>=3, H, W, C] -> [..., 2H, 2W, C] (wrist on top, exteriors below)."""
    views = np.asarray(views)
    if views.ndim < 4 or views.shape[-4] < 3:
        raise ValueError(f"droid_layout needs [..., V>=3, H, W, C] views, got shape {views.shape}")
    left, right, wrist = views[..., 0, :, :, :], views[..., 1, :, :, :], views[..., 2, :, :, :]
    # Upstream widens the wrist view with np.repeat along width: each column twice, not two copies side by side.
    top = np.repeat(wrist, 2, axis=-2)
    bottom = np.concatenate([left, right], axis=-2)
    return np.concatenate([top, bottom], axis=-3)


def grid_layout(views: np.ndarray) -> np.ndarray:
    """Generic 2x2 grid of ``views`` [..., V (1..3), H, W, C] -> [..., 2H, 2W, C]; empty cells are black."""
    views = np.asarray(views)
    if views.ndim < 4 or not 1 <= views.shape[-4] <= 3:
        raise ValueError(f"grid_layout needs [..., V in 1..3, H, W, C] views, got shape {views.shape}")
    black = np.zeros_like(views[..., 0, :, :, :])
    # Cells in upstream order: view 0 top-left, view 1 bottom-left, view 2 top-right, bottom-right black.
    cells = [views[..., i, :, :, :] if i < views.shape[-4] else black for i in range(3)]
    top = np.concatenate([cells[0], cells[2]], axis=-2)
    bottom = np.concatenate([cells[1], black], axis=-2)
    return np.concatenate([top, bottom], axis=-3)


def single_layout(views: np.ndarray) -> np.ndarray:
    """One camera: ``views`` [..., 1, H, W, C] -> [..., H, W, C] (upstream leaves a single view as it is)."""
    views = np.asarray(views)
    if views.ndim < 4 or views.shape[-4] != 1:
        raise ValueError(f"single_layout needs [..., 1, H, W, C] views, got shape {views.shape}")
    return views[..., 0, :, :, :]


LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "droid": droid_layout,
    "grid": grid_layout,
    "single": single_layout,
}


def layout_views(views: np.ndarray, layout: str) -> np.ndarray:
    """Arrange ``views`` [..., V, H, W, C] into one canvas with the named layout (see `LAYOUTS`)."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown view layout {layout!r}; choose one of {sorted(LAYOUTS)}")
    return LAYOUTS[layout](views)


# The 256 possible results, computed in numpy float32 exactly as upstream: `/255.0`, then Normalize(0.5, 0.5).
# A table rather than arithmetic under XLA, whose CPU division differs from IEEE division by 1 ulp.
_SIGNED_UNIT = (np.arange(256, dtype=np.float32) / np.float32(255.0) - np.float32(0.5)) / np.float32(0.5)


def to_signed_unit(pixels) -> jnp.ndarray:
    """uint8 pixels (any layout) -> float32 in [-1, 1], bit-identical to upstream ``(x / 255 - 0.5) / 0.5``."""
    pixels = jnp.asarray(pixels)
    if pixels.dtype != jnp.uint8:
        raise ValueError(f"to_signed_unit expects uint8 pixels, got {pixels.dtype}")
    return jnp.asarray(_SIGNED_UNIT)[pixels]

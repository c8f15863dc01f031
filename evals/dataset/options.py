"""`DatasetOptions`: the ``--dataset`` settings as the run plan carries them (no heavy imports: the planner
and every worker hold one).

Example:
    >>> DatasetOptions(root="demos").size
    (64, 96)
"""

from __future__ import annotations

from dataclasses import dataclass

DROID_CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
DEFAULT_SIZE = (64, 96)  # (H, W): the cube is visible, and rendering cost barely depends on the size


@dataclass(frozen=True)
class DatasetOptions:
    """The ``--dataset`` settings: where, at what size, which cameras, and whether failures are kept."""

    root: str
    size: tuple[int, int] = DEFAULT_SIZE
    cameras: tuple[str, ...] = DROID_CAMERAS
    keep_all: bool = False  # False: successful episodes only
    val_fraction: float = 0.1

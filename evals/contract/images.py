"""Client-side image resizing for remote policies, with openpi's ``resize_with_pad`` semantics.

openpi / RoboArena clients resize camera frames to the resolution the server asks for before sending them
(less bandwidth, and the server sees what it was trained on): keep the aspect ratio, bilinear resample with
PIL, centre on a black canvas.

Example:
    >>> import numpy as np
    >>> resize_with_pad(np.full((180, 320, 3), 255, np.uint8), 224, 224).shape
    (224, 224, 3)
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_with_pad(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize uint8 ``(..., H, W, 3)`` frames to ``(..., height, width, 3)`` keeping aspect ratio, zero-padded."""
    if image.shape[-3:-1] == (height, width):
        return image
    frames = image.reshape(-1, *image.shape[-3:])
    out = np.stack([_one(frame, height, width) for frame in frames])
    return out.reshape(*image.shape[:-3], height, width, image.shape[-1])


def _one(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    cur_h, cur_w = frame.shape[:2]
    ratio = max(cur_w / width, cur_h / height)
    new_h, new_w = max(1, int(cur_h / ratio)), max(1, int(cur_w / ratio))
    resized = np.asarray(Image.fromarray(frame).resize((new_w, new_h), resample=Image.BILINEAR))
    canvas = np.zeros((height, width, frame.shape[2]), frame.dtype)
    top, left = (height - new_h) // 2, (width - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas

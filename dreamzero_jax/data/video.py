"""Decoding episode frames from MP4 files with ffmpeg (imageio-ffmpeg), frame-exact by index.

Frames are addressed by index at the file's fps: v3.0 files hold several episodes, each a span
``[from_timestamp, to_timestamp)``. Seeking uses ffmpeg's accurate input seek to half a frame before the
first wanted frame, so no frame is lost to floating-point timestamps.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import imageio_ffmpeg
import numpy as np


def read_frames(path: str | Path, start: int = 0, count: int | None = None, fps: float = 1.0) -> np.ndarray:
    """uint8 [N, H, W, 3]: up to ``count`` frames from frame ``start`` (all the rest when count is None)."""
    input_params = ["-ss", f"{(start - 0.5) / fps:.6f}"] if start > 0 else None
    output_params = ["-frames:v", str(int(count))] if count is not None else None
    with warnings.catch_warnings():  # ffmpeg is exec'd at once; JAX's fork warning does not apply
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        gen = imageio_ffmpeg.read_frames(
            str(path), pix_fmt="rgb24", input_params=input_params, output_params=output_params
        )
        try:
            w, h = next(gen)["size"]
            frames = [np.frombuffer(buf, np.uint8).reshape(h, w, 3) for buf in gen]
        finally:
            gen.close()
    return np.stack(frames) if frames else np.zeros((0, h, w, 3), np.uint8)

"""MP4 episode videos: tiled camera views with the instruction and step number in a banner above them.

Text is drawn with Pillow's built-in default font (Pillow is already required by imageio; no font files).
The file is written under a temporary name and `os.replace`d, so a killed run never leaves a torn MP4.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw, ImageFont

BANNER_HEIGHT = 16


def annotate(frame: np.ndarray, left: str, right: str) -> np.ndarray:
    """Frame with a black banner on top holding `left` (instruction) and `right` (step) text."""
    h, w = frame.shape[:2]
    canvas = Image.new("RGB", (w, h + BANNER_HEIGHT))
    canvas.paste(Image.fromarray(np.ascontiguousarray(frame[..., :3], dtype=np.uint8)), (0, BANNER_HEIGHT))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    right_w = draw.textlength(right, font=font)
    text = left
    # Truncate the instruction so it never runs into the step counter.
    while text and draw.textlength(text, font=font) > w - right_w - 12:
        text = text[:-2]
    if text != left:
        text = text[:-1] + "…" if len(text) > 1 else ""
    draw.text((3, 2), text, fill=(255, 255, 255), font=font)
    draw.text((w - right_w - 3, 2), right, fill=(255, 255, 0), font=font)
    out = np.asarray(canvas)
    # libx264/yuv420p needs even dimensions; pad by one black row/column where needed.
    pad_h, pad_w = out.shape[0] % 2, out.shape[1] % 2
    if pad_h or pad_w:
        out = np.pad(out, ((0, pad_h), (0, pad_w), (0, 0)))
    return out


def write_video(
    path: str | Path, frames: list[np.ndarray], instruction: str, fps: int, *, stride: int = 1
) -> None:
    """Encode annotated frames (frame i is the view after step i * stride; frame 0 the reset view) to an MP4
    that plays in real time (`fps` control steps per second, so fps / stride frames per second)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".partial.mp4")
    with warnings.catch_warnings():
        # Starting ffmpeg after JAX is loaded triggers JAX's fork warning; subprocess execs at once, so it is safe.
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        rate = max(1.0, fps / stride)
        writer = imageio.get_writer(tmp, fps=rate, codec="libx264", macro_block_size=1, quality=7)
        try:
            for i, frame in enumerate(frames):
                writer.append_data(annotate(frame, instruction, f"step {i * stride}"))
        finally:
            writer.close()
    os.replace(tmp, path)


def encode_video(frames: list[np.ndarray], instruction: str, fps: int, *, stride: int = 1) -> bytes:
    """The MP4 `write_video` would write, as bytes (a Ray worker sends them to the driver, which writes
    the run directory: several hosts share no file system). Encoded through a private temporary file."""
    with tempfile.TemporaryDirectory(prefix="evals-video-") as tmp:
        path = Path(tmp) / "episode.mp4"
        write_video(path, frames, instruction, fps, stride=stride)
        return path.read_bytes()

"""Run metrics: ``metrics.csv`` (one row per logged step) and the loss-curve PNG."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pandas as pd

COLUMNS = (
    "step",
    "loss",
    "video_loss",
    "action_loss",
    "lr",
    "grad_norm",
    "steps_per_s",
    "samples_per_s",
    "val_loss",
    "val_video_loss",
    "val_action_loss",
    "val_action_mse",  # open-loop action error of the sampler (only with an eval_actions callable)
)


class MetricsLog:
    """Appends rows to ``path``. Resuming at ``resume_step`` drops rows past it (the interrupted run's
    steps that the resumed run will redo from the checkpoint)."""

    def __init__(self, path: Path, resume_step: int | None = None):
        self.path = Path(path)
        if resume_step is not None and self.path.is_file():
            rows = pd.read_csv(self.path)
            rows[rows["step"] <= resume_step].to_csv(self.path, index=False)
        elif self.path.is_file():
            self.path.unlink()
        if not self.path.is_file():
            with self.path.open("w", newline="") as f:
                csv.writer(f).writerow(COLUMNS)

    def append(self, row: dict) -> None:
        unknown = set(row) - set(COLUMNS)
        if unknown:
            raise KeyError(f"unknown metric(s) {sorted(unknown)}")
        with self.path.open("a", newline="") as f:
            csv.writer(f).writerow(["" if row.get(c) is None else row[c] for c in COLUMNS])


def plot_losses(csv_path: Path, png_path: Path) -> Path:
    """Train (total, video, action) and validation loss against the step, log scale, to ``png_path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = pd.read_csv(csv_path)
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for column, style in (("loss", "-"), ("video_loss", ":"), ("action_loss", "--"), ("val_loss", "o-")):
        series = rows[["step", column]].dropna()
        if len(series):
            ax.plot(series["step"], series[column], style, label=column, markersize=3)
    positive = rows[["loss", "val_loss"]].stack()
    if len(positive) and float(positive.min()) > 0 and not math.isnan(float(positive.min())):
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("flow-matching loss")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path)
    plt.close(fig)
    return Path(png_path)

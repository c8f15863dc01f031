"""PNG charts with matplotlib (Agg backend, no display): latency histogram, per-chunk action traces,
the leaderboard's success-rate panels and the nightly trend.

Each builder returns a Figure; `save_png` writes it and `png_bytes` gives it for embedding in HTML.
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: never open a window (CI, cron, ssh)

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

DPI = 90


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write the figure as PNG and release it."""
    path = Path(path)
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return path


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (for a data: URI); releases it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def latency_histogram(latencies: dict[str, np.ndarray]) -> Figure:
    """Histogram of policy-call latencies (ms), one series per policy, log-spaced bins."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    values = [v[np.isfinite(v) & (v > 0)] for v in latencies.values()]
    pooled = np.concatenate(values) if values else np.zeros(0)
    if pooled.size:
        lo, hi = pooled.min(), pooled.max()
        bins = np.geomspace(lo, hi * 1.0001, 30) if hi > lo else 10
        for (name, _), v in zip(latencies.items(), values, strict=True):
            ax.hist(v, bins=bins, alpha=0.6, label=f"{name} (n={v.size})")
        if hi > lo:
            ax.set_xscale("log")
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no policy calls", ha="center", transform=ax.transAxes)
    ax.set_xlabel("policy latency per call (ms)")
    ax.set_ylabel("calls")
    ax.set_title("Policy latency")
    return fig


def action_trace(steps: pd.DataFrame, n_joints: int, title: str) -> Figure:
    """The arm's joint commands of one episode over steps, chunk boundaries as dashed vertical lines,
    and the gripper command below."""
    actions = np.stack([np.asarray(a, np.float64) for a in steps["action"]])
    t = steps["step"].to_numpy()
    has_gripper = actions.shape[1] > n_joints
    fig, axes = plt.subplots(
        2 if has_gripper else 1, 1, figsize=(7, 3.6), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": [3, 1] if has_gripper else [1]},
    )  # fmt: skip
    ax = axes[0, 0]
    for j in range(n_joints):
        ax.plot(t, actions[:, j], lw=1, label=f"j{j}")
    starts = t[(steps["pos_in_chunk"].to_numpy() == 0)][1:]
    for ax_ in axes[:, 0]:
        for s in starts:
            ax_.axvline(s - 0.5, color="grey", ls="--", lw=0.6)
    ax.set_ylabel("joint command")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=6, ncol=min(n_joints, 7), loc="upper right")
    if has_gripper:
        axes[1, 0].step(t, actions[:, n_joints], where="post", color="k", lw=1)
        axes[1, 0].set_ylabel("gripper")
    axes[-1, 0].set_xlabel("step (dashed: chunk boundary)")
    return fig


def success_panels(panels: dict[str, pd.DataFrame], title: str) -> Figure:
    """One panel per group (embodiment): horizontal bars of success rate per policy with Wilson whiskers.

    Each frame has columns label, rate, ci95_low, ci95_high, n."""
    n = max(1, len(panels))
    height = 0.9 + 0.35 * max((len(f) for f in panels.values()), default=1)
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n + 1.5, height), sharey=True, squeeze=False)
    for ax, (name, frame) in zip(axes[0], panels.items(), strict=False):
        y = np.arange(len(frame))
        rate = frame["rate"].to_numpy(np.float64)
        err = np.clip(
            np.nan_to_num(np.vstack([rate - frame["ci95_low"], frame["ci95_high"] - rate])), 0, None
        )
        ax.barh(y, np.nan_to_num(rate), color="#4a7fc1", xerr=np.nan_to_num(err), capsize=3)
        ax.set_yticks(y, frame["label"].tolist())
        ax.set_xlim(0, 1)
        ax.set_title(f"{name}", fontsize=10)
        ax.set_xlabel("success rate (95% Wilson)")
        for yi, (r, k) in enumerate(zip(rate, frame["n"], strict=True)):
            label = "n=0" if not k else f"{r:.2f} n={int(k)}"
            ax.text(
                0.98, yi, label, va="center", ha="right", fontsize=7, bbox={"fc": "w", "ec": "none", "pad": 1}
            )
    axes[0, 0].invert_yaxis()
    fig.suptitle(title, fontsize=11, y=1.0 + 0.25 / height)
    return fig


def trend(history: pd.DataFrame) -> Figure:
    """Nightly success rate (with Wilson whiskers, regression nights in red) and latency p50/p95."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True)
    x = np.arange(len(history))
    rate = history["rate"].to_numpy(np.float64)
    lo, hi = (history[c].to_numpy(np.float64) for c in ("ci95_low", "ci95_high"))
    err = np.clip(np.nan_to_num(np.vstack([rate - lo, hi - rate])), 0, None)
    colors = ["#c0392b" if v in ("REGRESSION", "errors") else "#4a7fc1" for v in history["verdict"]]
    top.errorbar(x, rate, yerr=err, fmt="none", ecolor="grey", capsize=3)
    top.scatter(x, rate, c=colors, zorder=3)
    top.plot(x, history["baseline_rate"].to_numpy(np.float64), color="k", ls=":", lw=1, label="baseline")
    top.set_ylim(-0.02, 1.02)
    top.set_ylabel("success rate")
    top.legend(fontsize=8)
    for q in ("p50", "p95"):
        bottom.plot(x, history[f"latency_{q}_ms"].to_numpy(np.float64), marker="o", label=q)
    bottom.set_ylabel("policy latency (ms)")
    bottom.legend(fontsize=8)
    bottom.set_xticks(x, [str(d)[:16] for d in history["date"]], rotation=45, ha="right", fontsize=7)
    top.set_title("Nightly evaluation (red: regression or errored run)", fontsize=10)
    return fig

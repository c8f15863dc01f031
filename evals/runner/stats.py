"""Honest statistics for success rates and latencies.

Success rates come with a Wilson score interval (95%): unlike the normal approximation it stays inside
[0, 1] and is not degenerate at 0/n or n/n, which is exactly where small evaluation suites live.

Example:
    >>> [round(x, 3) for x in wilson_interval(8, 10)]
    [0.49, 0.943]
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; (nan, nan) when n == 0."""
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Clamp rounding noise at the ends (0/n and n/n are exactly 0 and 1).
    return max(0.0, center - half), min(1.0, center + half)


def percentiles(values, qs=(50, 95)) -> dict[str, float]:
    """{'p50': ..., 'p95': ...} ignoring NaN/None; NaN when nothing is left."""
    arr = np.asarray([v for v in values if v is not None], dtype=np.float64)
    arr = arr[np.isfinite(arr)]
    return {f"p{q:g}": (float(np.percentile(arr, q)) if arr.size else float("nan")) for q in qs}


GROUPINGS = ("all", "case_id", "task", "embodiment", "tag")


def _groups(episodes: pd.DataFrame, grouping: str) -> list[tuple[str, pd.DataFrame]]:
    if grouping == "all":
        return [("all", episodes)]
    if grouping == "tag":  # an episode counts once for each of its tags
        if "tags" not in episodes:
            return []
        tag_lists = [list(ts) for ts in episodes["tags"]]
        tags = list(dict.fromkeys(t for ts in tag_lists for t in ts))
        return [(t, episodes[[t in ts for ts in tag_lists]]) for t in tags]
    return list(episodes.groupby(grouping, sort=False))


def summarize(episodes: pd.DataFrame, steps: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per group (overall, per case, task, embodiment and tag): success rate + Wilson 95% CI,
    success-at-any-step rate, mean final progress, errors, policy latency p50/p95 over all calls."""
    rows = []
    lat = None
    if steps is not None and len(steps):
        lat = steps.loc[steps["policy_called"], ["case_id", "seed", "policy_latency_ms"]]
    for grouping in GROUPINGS:
        for name, g in _groups(episodes, grouping):
            n = len(g)
            k = int(g["success"].sum())
            lo, hi = wilson_interval(k, n)
            if lat is not None:
                keys = set(zip(g["case_id"], g["seed"], strict=True))
                mask = [key in keys for key in zip(lat["case_id"], lat["seed"], strict=True)]
                lats = percentiles(lat.loc[mask, "policy_latency_ms"].tolist())
            else:
                lats = {"p50": float("nan"), "p95": float("nan")}
            rows.append(
                {
                    "group_by": grouping,
                    "group": str(name),
                    "episodes": n,
                    "successes": k,
                    "success_rate": k / n if n else float("nan"),
                    "ci95_low": lo,
                    "ci95_high": hi,
                    "success_any_rate": float(g["success_any"].mean()) if n else float("nan"),
                    "mean_final_progress": float(g["final_progress"].mean()) if n else float("nan"),
                    "errors": int((g["termination_reason"] == "error").sum()),
                    "mean_steps": float(g["steps"].mean()) if n else float("nan"),
                    "latency_p50_ms": lats["p50"],
                    "latency_p95_ms": lats["p95"],
                }
            )
    return pd.DataFrame(rows)

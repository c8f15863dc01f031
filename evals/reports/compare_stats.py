"""Exact tests and an interval for the difference of two success rates (pure Python, no scipy).

- :func:`newcombe_interval`: Newcombe's (1998) hybrid score interval for p_candidate - p_baseline, built
  from the two Wilson intervals of `evals.stats` (method 10 of the paper; stays inside [-1, 1]).
- :func:`fisher_exact`: two-sided Fisher exact test of a 2x2 table (independent samples).
- :func:`mcnemar_exact`: two-sided exact McNemar test (binomial test on the discordant pairs) for paired data.

Example:
    >>> [round(x, 4) for x in newcombe_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]
"""

from __future__ import annotations

import math

from evals.runner.stats import Z_95, wilson_interval

# Probabilities within this relative tolerance of the observed table's count as "as extreme"
# (the same guard R's fisher.test uses against floating-point ties).
_REL_TOL = 1e-7


def newcombe_interval(k1: int, n1: int, k2: int, n2: int, z: float = Z_95) -> tuple[float, float]:
    """Hybrid score interval for k1/n1 - k2/n2 from the Wilson intervals of each proportion.

    (nan, nan) when either sample is empty.
    """
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan")
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1, z)
    l2, u2 = wilson_interval(k2, n2, z)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, lower), min(1.0, upper)


def _hypergeom_pmf(x: int, row1: int, row2: int, col1: int) -> float:
    return math.comb(row1, x) * math.comb(row2, col1 - x) / math.comb(row1 + row2, col1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p-value of Fisher's exact test for the table [[a, b], [c, d]].

    Sums the probabilities (hypergeometric, margins fixed) of all tables no more likely than the observed one.
    """
    if min(a, b, c, d) < 0:
        raise ValueError(f"table entries must be >= 0, got {[[a, b], [c, d]]}")
    row1, row2, col1 = a + b, c + d, a + c
    lo, hi = max(0, col1 - row2), min(row1, col1)
    p_obs = _hypergeom_pmf(a, row1, row2, col1)
    total = sum(
        p for x in range(lo, hi + 1) if (p := _hypergeom_pmf(x, row1, row2, col1)) <= p_obs * (1 + _REL_TOL)
    )
    return min(1.0, total)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts.

    b = pairs where only the baseline succeeded, c = pairs where only the candidate succeeded; under the null
    each discordant pair is a fair coin, so p = 2 * P(Binomial(b + c, 1/2) <= min(b, c)), capped at 1.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b}, {c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def min_attainable_p(paired: bool, n_baseline: int, n_candidate: int) -> float:
    """The smallest p-value the test can reach with these sample sizes (all baseline successes turned into
    candidate failures): a gate whose floor is >= alpha can never flag a regression."""
    if paired:
        return mcnemar_exact(n_baseline, 0) if n_baseline else 1.0
    return fisher_exact(0, n_candidate, n_baseline, 0)


def holm_adjust(pvalues: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (family-wise error control over many groups); NaN entries are not
    part of the family and stay NaN."""
    valid = sorted((p, i) for i, p in enumerate(pvalues) if not math.isnan(p))
    m = len(valid)
    out = [float("nan")] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(valid):
        running = max(running, min(1.0, (m - rank) * p))  # monotone: never below an earlier adjusted value
        out[i] = running
    return out

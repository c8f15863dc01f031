"""Wilson intervals against known values, percentiles, grouped summaries and the printed table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evals.runner.stats import percentiles, summarize, wilson_interval
from evals.runner.summary import format_table


@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (8, 10, 0.490, 0.943),
        (0, 10, 0.0, 0.278),
        (10, 10, 0.722, 1.0),
        (1, 2, 0.095, 0.905),
        (50, 100, 0.404, 0.596),
    ],
)
def test_wilson_known_values(k, n, low, high):
    lo, hi = wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=5e-4) and hi == pytest.approx(high, abs=5e-4)


def test_wilson_edges():
    assert all(math.isnan(x) for x in wilson_interval(0, 0))
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == 1.0
    with pytest.raises(ValueError):
        wilson_interval(6, 5)


def test_percentiles_ignore_missing():
    p = percentiles([1.0, None, 3.0, float("nan"), 2.0])
    assert p == {"p50": 2.0, "p95": pytest.approx(2.9)}
    assert math.isnan(percentiles([])["p50"])


def _episodes():
    return pd.DataFrame(
        {
            "case_id": ["a", "a", "b", "b", "b"],
            "seed": [0, 1, 0, 1, 2],
            "task": ["T1", "T1", "T2", "T2", "T2"],
            "embodiment": ["panda", "ur5e", "panda", "panda", "ur5e"],
            "success": [True, False, True, True, False],
            "success_any": [True, True, True, True, False],
            "final_progress": [1.0, 0.5, 1.0, 1.0, 0.0],
            "termination_reason": ["success", "horizon", "success", "success", "error"],
            "steps": [5, 10, 4, 6, 1],
            "tags": [["x"], ["x", "y"], ["y"], [], ["y"]],
        }
    )


def test_summarize_groups():
    steps = pd.DataFrame(
        {
            "case_id": ["a", "a", "b"],
            "seed": [0, 1, 2],
            "policy_called": [True, True, True],
            "policy_latency_ms": [10.0, 30.0, 100.0],
        }
    )
    s = summarize(_episodes(), steps).set_index(["group_by", "group"])
    assert s.loc[("all", "all"), "episodes"] == 5 and s.loc[("all", "all"), "successes"] == 3
    assert s.loc[("case_id", "a"), "success_rate"] == 0.5
    assert s.loc[("case_id", "a"), "success_any_rate"] == 1.0
    assert s.loc[("case_id", "a"), "latency_p50_ms"] == 20.0
    assert s.loc[("task", "T2"), "errors"] == 1
    assert s.loc[("embodiment", "ur5e"), "successes"] == 0
    lo, hi = wilson_interval(3, 3)  # panda: a/0, b/0, b/1 all succeed
    assert s.loc[("embodiment", "panda"), "ci95_low"] == pytest.approx(lo)
    assert s.loc[("embodiment", "panda"), "ci95_high"] == pytest.approx(hi)
    assert list(s.index.get_level_values(0).unique()) == ["all", "case_id", "task", "embodiment", "tag"]
    assert s.loc[("tag", "x"), "episodes"] == 2 and s.loc[("tag", "x"), "successes"] == 1
    assert s.loc[("tag", "y"), "episodes"] == 3 and s.loc[("tag", "y"), "successes"] == 1


def test_table_has_every_group():
    text = format_table(summarize(_episodes()))
    for title in (
        "== overall ==",
        "== by case_id ==",
        "== by task ==",
        "== by embodiment ==",
        "== by tag ==",
    ):
        assert title in text
    assert "[0.23, 0.88]" in text  # 3/5 overall

"""envs.bench: the benchmark code path end to end on 2 steps (a smoke test, not a timing test)."""

from __future__ import annotations

import re

import numpy as np

from envs import bench

SUMMARY = re.compile(
    r"^summary: wrapper_overhead=(?P<w>[0-9.]+) worst=(?P<x>[0-9.]+) spread=(?P<s>[0-9.]+) "
    r"steps_per_s_nocam=(?P<n>[0-9.]+) steps_per_s_cams=(?P<c>[0-9.]+)$"
)


def test_bench_prints_rows_and_machine_readable_summary(capsys):
    assert bench.main(["--tasks", "OpenDrawer", "--steps", "2", "--repeats", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [line for line in lines if line.startswith("OpenDrawer")]
    assert [r.split()[1] for r in rows] == ["nocam", "cams"]
    match = SUMMARY.match(lines[-1])
    assert match, lines[-1]
    assert all(float(match[k]) > 0 for k in ("w", "x", "n", "c"))
    (nocam,) = [r.split() for r in rows if r.split()[1] == "nocam"]
    low, high = (float(x) for x in nocam[-1].split("-"))
    assert low <= float(nocam[-2]) <= high  # the median pair ratio lies within the pairs' spread
    assert float(match["s"]) == round(high - low, 3) or abs(float(match["s"]) - (high - low)) < 2e-3


def test_bench_usage_errors_exit_2(capsys):
    assert bench.main(["--tasks", "NoSuchTask"]) == 2
    assert "NoSuchTask" in capsys.readouterr().err
    assert bench.main(["--embodiment", "r2d2"]) == 2
    assert bench.main(["--steps", "0"]) == 2


def test_action_sequence_respects_limits_and_maps_gripper():
    q0 = np.array([0.0, 0.1, 0.0, -2.0, 0.0, 2.0, 0.7])
    lo, hi = q0 - 0.05, q0 + 0.05
    acts = bench.action_sequence(q0, lo, hi, 50)
    assert acts.shape == (50, 8) and acts.dtype == np.float32
    assert np.all(acts[:, :7] >= lo.astype(np.float32) - 1e-6) and np.all(
        acts[:, :7] <= hi.astype(np.float32) + 1e-6
    )
    assert set(np.unique(acts[:, 7])) == {0.0, 1.0}
    raw = bench.to_raw(acts)
    np.testing.assert_array_equal(raw[:, 7], 2.0 * acts[:, 7] - 1.0)
    np.testing.assert_allclose(raw[:, :7], acts[:, :7])

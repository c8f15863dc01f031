"""evals.bench_closed_loop: the code path end to end on a few steps (a smoke test, not a timing test)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from evals import bench_closed_loop as bench

SUMMARY = re.compile(r"^summary: render_on_demand_speedup=(?P<r>[0-9.]+) warm_cache_first_call_ratio=nan$")


def test_render_part_prints_rows_and_summary(capsys):
    assert bench.main(["--steps", "9", "--skip-dreamzero"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[4:6] for line in lines[1:3]] == [["every", "step"], ["on", "demand"]]
    match = SUMMARY.match(lines[-1])
    assert match and float(match["r"]) > 0, lines[-1]


def test_usage_errors_exit_2(capsys):
    assert bench.main(["--steps", "0"]) == 2 and "--steps" in capsys.readouterr().err
    assert bench.main(["--repeats", "0", "--skip-dreamzero"]) == 2


def test_camera_stand_in_reads_all_views_and_returns_a_chunk():
    policy = bench.CameraStandIn()
    obs = {c: np.full((4, 6, 3), 10 * i, np.uint8) for i, c in enumerate(bench.DROID_CAMERAS)}
    obs |= {"joint_position": np.arange(7, dtype=np.float32)}
    chunk = policy.infer(obs)["actions"]
    assert chunk.shape == (8, 8) and chunk.dtype == np.float32 and np.all(chunk[:, 7] == 0)
    assert np.abs(chunk[:, :7] - np.arange(7)).max() < 0.06  # a small swing about the current joints
    del obs["wrist_image_left"]
    with pytest.raises(KeyError):  # it reads every camera it asks for
        policy.infer(obs)

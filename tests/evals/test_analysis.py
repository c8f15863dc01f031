"""Trajectory analysis on hand-made trajectories whose answers are known, and `evals.analyze` on bad input."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from test_compare import write_run

from evals import analyze
from evals.reports import analysis_metrics as m
from evals.reports.analysis import analyze_runs
from evals.runner.recorder import PART_SEPARATOR

DT = 1 / 15


def test_jerk_of_a_cubic_is_six_times_its_leading_coefficient():
    t = np.arange(12)[:, None] * DT
    coeffs = np.array([0.5, -2.0, 3.0])  # distinct per joint, so a joint mix-up shows
    joints = coeffs * t**3 + 0.3 * t**2 - t  # lower orders have no jerk
    np.testing.assert_allclose(m.jerk(joints, DT), np.broadcast_to(6 * coeffs, (9, 3)), rtol=1e-6)
    per_joint, overall = m.jerk_rms(joints, DT)
    np.testing.assert_allclose(per_joint, 6 * np.abs(coeffs), rtol=1e-6)
    assert overall == pytest.approx(6 * math.sqrt(np.mean(coeffs**2)), rel=1e-6)
    assert math.isnan(m.jerk_rms(joints[:3], DT)[1])  # too short for a third difference


def test_smoother_path_has_higher_log_dimensionless_jerk():
    t = np.linspace(0, 1, 40)[:, None]
    minimum_jerk = 10 * t**3 - 15 * t**4 + 6 * t**5
    wobbly = minimum_jerk + 0.02 * np.sin(40 * t)
    assert m.log_dimensionless_jerk(minimum_jerk, 1 / 39) > m.log_dimensionless_jerk(wobbly, 1 / 39)
    assert math.isnan(m.log_dimensionless_jerk(np.zeros((10, 2)), DT))  # a still arm


def _chunked(n_steps: int, chunk: int, within: float, jump: float) -> tuple[np.ndarray, np.ndarray]:
    """Joint-0 commands that ramp by `within` each step and leap by `jump` into every new chunk."""
    pos = np.arange(n_steps) % chunk
    index = np.arange(n_steps) // chunk
    arm = np.zeros((n_steps, 7))
    arm[:, 0] = within * np.arange(n_steps) + (jump - within) * index
    return np.hstack([arm, np.zeros((n_steps, 1))]), pos


def test_chunk_boundary_jump_of_known_size():
    actions, pos = _chunked(16, chunk=4, within=0.01, jump=0.5)
    result = m.chunk_boundary_jump(actions, pos, n_joints=7)
    assert result.boundary == pytest.approx(0.5)
    assert result.within == pytest.approx(0.01)
    assert result.ratio == pytest.approx(50.0)
    assert result.note == ""


def test_chunk_boundary_jump_is_undefined_for_chunk_length_one():
    actions, pos = _chunked(10, chunk=1, within=0.01, jump=0.5)
    result = m.chunk_boundary_jump(actions, pos, n_joints=7)
    assert math.isnan(result.ratio) and math.isnan(result.within)
    assert "chunk length 1" in result.note


def test_gripper_switch_count():
    pattern = [0.1, 0.9, 0.9, 0.2, 0.8, 0.8, 0.8, 0.0, 0.0, 0.7]  # 5 switches across the 0.5 threshold
    actions = np.hstack([np.zeros((10, 7)), np.array(pattern)[:, None]])
    assert m.gripper_switches(actions, 7) == 5
    assert m.gripper_switches(actions[:, :7], 7) == 0  # no gripper dim


def test_limit_proximity_idle_and_time_to_success():
    joints = np.array([[0.0, 0.5], [0.0, 0.8], [0.0, 0.8], [0.0, 0.99]])
    margin, near = m.limit_proximity(joints, np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    assert margin == pytest.approx(0.005)  # joint 1 at 0.99 of [-1, 1]: 0.01 / 2
    assert near == pytest.approx(0.25)  # only the last step is within 5% of the range
    assert m.idle_seconds(joints, DT) == pytest.approx(DT)  # steps 1 -> 2 do not move
    assert m.time_to_first_success(np.array([False, False, True, True]), DT) == pytest.approx(3 * DT)
    assert math.isnan(m.time_to_first_success(np.zeros(4, bool), DT))


# ---- run directories --------------------------------------------------------------------------------


def step_rows(case: str, seed: int, n: int, chunk: int, timing: dict | None, succeed_at: int | None) -> list:
    actions, pos = _chunked(n, chunk=chunk, within=0.02, jump=0.3)
    rows = []
    for t in range(n):
        called = pos[t] == 0
        rows.append(
            {
                "case_id": case,
                "seed": seed,
                "step": t,
                "chunk_index": t // chunk,
                "pos_in_chunk": int(pos[t]),
                "action": actions[t].astype(np.float32).tolist(),
                "joint_position": [0.1 * t, 0.0, 0, 0, 0, 0, 0],
                "gripper_position": 0.0,
                "reward": 0.0,
                "progress": 0.0,
                "success": succeed_at is not None and t >= succeed_at,
                "policy_called": bool(called),
                "policy_latency_ms": 20.0 + t if called else None,
                "policy_timing": json.dumps(timing) if called and timing else None,
            }
        )
    return rows


def write_analysed_run(path: Path, timing: dict | None = None, **info) -> Path:
    eps = [
        {"case_id": "lift", "seed": 0, "success": True, "steps": 12, "sim_seconds": 12 * DT},
        {"case_id": "lift", "seed": 1, "success": False, "steps": 12, "sim_seconds": 12 * DT},
    ]
    for e in eps:
        e |= {"wall_seconds": 2.0, "policy": "expert"}
    info.setdefault("joint_limits", {"panda": {"low": [-2.0] * 7, "high": [2.0] * 7}})
    write_run(path, eps, **info)
    rows = step_rows("lift", 0, 12, 4, timing, succeed_at=9) + step_rows("lift", 1, 12, 4, timing, None)
    pd.DataFrame(rows).to_parquet(path / "steps.parquet")
    return path


def test_run_analysis_per_episode_and_per_group(tmp_path):
    analysis = analyze_runs([write_analysed_run(tmp_path / "run", timing={"dit": 4.0, "vae": 1.5})])
    eps = analysis.episodes.set_index("seed")
    assert eps.loc[0, "chunk_jump_ratio"] == pytest.approx(15.0, rel=1e-5)  # 0.3 / 0.02 (float32 actions)
    assert eps.loc[0, "time_to_success_s"] == pytest.approx(10 * DT)
    assert math.isnan(eps.loc[1, "time_to_success_s"])
    # joint 0 moves 0.1 per step up to 1.1 of [-2, 2]: margin (2 - 1.1) / 4
    assert eps.loc[0, "limit_margin_min"] == pytest.approx(0.225, abs=1e-6)
    # calls at steps 0, 4, 8: 20, 24, 28 ms over 2 s of wall time
    assert eps.loc[0, "latency_p50_ms"] == pytest.approx(24.0)
    assert eps.loc[0, "latency_share"] == pytest.approx(0.072 / 2.0)
    assert eps.loc[0, "timing_dit_ms"] == pytest.approx(4.0)
    case = analysis.table[(analysis.table["level"] == "case_id")].iloc[0]
    assert case["episodes"] == 2 and case["success_rate"] == pytest.approx(0.5)


def test_cli_writes_parquet_summary_and_plots(tmp_path, capsys):
    run = write_analysed_run(tmp_path / "run")  # no policy_timing
    assert analyze.main([str(run)]) == 0
    out = run / "analysis"
    table = pd.read_parquet(out / "analysis.parquet")
    assert set(table["level"]) == {"episode", "case_id", "task", "embodiment", "policy"}
    summary = (out / "analysis.md").read_text()
    assert "No per-stage timing" in summary
    assert (out / "latency_hist.png").read_bytes()[:4] == b"\x89PNG"
    assert len(list(out.glob("actions_*.png"))) == 2  # the policy's first failure and first success


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


def test_cli_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    assert analyze.main([str(tmp_path / "missing")]) == 2
    assert "no run.json" in _error_line(capsys)

    empty = write_analysed_run(tmp_path / "empty")
    pd.read_parquet(empty / "steps.parquet").iloc[:0].to_parquet(empty / "steps.parquet")
    assert analyze.main([str(empty)]) == 2
    assert "no steps recorded" in _error_line(capsys)

    a = write_analysed_run(tmp_path / "a")
    b = write_analysed_run(tmp_path / "b", suite_name="droid")
    assert analyze.main([str(a), str(b), "--out", str(tmp_path / "o")]) == 2
    assert "different suites" in _error_line(capsys)


def test_unfinished_run_is_analysed_from_its_parts_with_a_warning(tmp_path, capsys):
    run = write_analysed_run(tmp_path / "run", status="interrupted")
    steps = pd.read_parquet(run / "steps.parquet")
    (run / "steps").mkdir()
    for (case, seed), part in steps.groupby(["case_id", "seed"]):
        part.to_parquet(run / "steps" / f"{case}{PART_SEPARATOR}{seed}.parquet")
    (run / "steps.parquet").unlink()
    assert analyze.main([str(run)]) == 0
    assert "not 'completed'" in capsys.readouterr().err
    assert len(pd.read_parquet(run / "analysis" / "analysis.parquet").query("level == 'episode'")) == 2

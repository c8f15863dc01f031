"""`evals.leaderboard` over tiny synthetic run directories."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from test_compare import make_runner_dirs, write_run

from evals.reports import leaderboard
from evals.runner.stats import wilson_interval


@pytest.fixture(scope="module")
def runner_dirs(tmp_path_factory):
    return make_runner_dirs(tmp_path_factory)


def _rows(successes: dict[str, list[bool]], task: str = "Lift") -> list[dict]:
    return [
        {"case_id": f"{task}-{emb}", "seed": i, "success": s, "embodiment": emb, "task": task}
        for emb, flags in successes.items()
        for i, s in enumerate(flags)
    ]


@pytest.fixture
def runs(tmp_path):
    good = write_run(tmp_path / "good", _rows({"panda": [True] * 8 + [False] * 2, "kinova3": [True] * 5}),
                     policy="dreamzero", checkpoint="ckpt/a")  # fmt: skip
    bad = write_run(
        tmp_path / "bad", _rows({"panda": [False] * 10, "kinova3": [True, False]}), policy="random"
    )
    # A second run of the same policy and checkpoint is pooled into one row.
    more = write_run(
        tmp_path / "more", _rows({"panda": [True, True]}), policy="dreamzero", checkpoint="ckpt/a"
    )
    return good, bad, more


def test_rows_per_policy_sorted_with_wilson_cells(runs):
    boards = leaderboard.build_leaderboards([leaderboard.load_run(p) for p in runs], "embodiment")
    assert len(boards) == 1
    board = boards[0][1]
    assert board["policy"].tolist() == ["dreamzero", "random"]
    top = board.iloc[0]
    assert (top["checkpoint"], top["runs"], top["overall.n"], top["panda.n"]) == ("ckpt/a", 2, 17, 12)
    assert top["panda.rate"] == pytest.approx(10 / 12)
    assert (top["panda.ci95_low"], top["panda.ci95_high"]) == pytest.approx(wilson_interval(10, 12))
    assert board.iloc[1]["kinova3.rate"] == pytest.approx(0.5)


def test_errored_episodes_are_excluded_and_counted(tmp_path):
    rows = _rows({"panda": [True, True, False]})
    rows[2].update(termination_reason="error", error="boom", error_type="RuntimeError")
    board = leaderboard.build_board([leaderboard.load_run(write_run(tmp_path / "r", rows))], "embodiment")
    assert (board.loc[0, "panda.n"], board.loc[0, "panda.errors"], board.loc[0, "panda.rate"]) == (2, 1, 1.0)
    assert "err=1" in leaderboard.format_cell(board.iloc[0], "panda")


def test_different_suites_get_separate_boards(tmp_path, capsys):
    a = write_run(tmp_path / "a", _rows({"panda": [True]}))
    b = write_run(tmp_path / "b", _rows({"panda": [False]}), task_fingerprints={"Lift": "CHANGED"})
    c = write_run(tmp_path / "c", _rows({"panda": [False]}), suite_name="droid")
    assert leaderboard.main([str(a), str(b), str(c)]) == leaderboard.EXIT_OK
    out = capsys.readouterr().out
    assert "3 different suites" in out and out.count("== board") == 3


def test_cli_writes_markdown_and_csv_by_task(runs, tmp_path, capsys):
    md, csv = tmp_path / "board.md", tmp_path / "board.csv"
    assert leaderboard.main([*map(str, runs), "--by", "task", "--markdown", str(md), "--csv", str(csv)]) == 0
    text = md.read_text()
    assert "| policy | checkpoint | runs | overall | Lift |" in text
    assert "| dreamzero | ckpt/a | 2 | 0.88 [" in text
    frame = pd.read_csv(csv)
    assert frame["policy"].tolist() == ["dreamzero", "random"]
    assert frame.loc[1, "Lift.n"] == 12 and frame.loc[1, "board"] == 1


def test_unreadable_run_exits_2(tmp_path, capsys):
    assert leaderboard.main([str(tmp_path / "missing")]) == leaderboard.EXIT_USAGE
    err = capsys.readouterr().err
    assert "no run.json" in err and len(err.strip().splitlines()) == 1


def test_leaderboard_of_real_runner_directories(runner_dirs, capsys):
    assert leaderboard.main([str(runner_dirs["random"]), str(runner_dirs["expert"])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("== board 1: suite fake (version 3)")
    assert lines[2].startswith("expert") and lines[3].startswith("random")  # sorted by success


def test_chart_has_a_panel_per_embodiment_with_wilson_whiskers(runs, tmp_path):
    png = tmp_path / "board.png"
    assert leaderboard.main([*map(str, runs), "--png", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"
    board = leaderboard.build_leaderboards([leaderboard.load_run(p) for p in runs], "embodiment")[0][1]
    panels = leaderboard.chart_panels(board)
    assert list(panels) == ["overall", "panda", "kinova3"]
    kinova = panels["kinova3"].set_index("label")
    assert kinova.loc["dreamzero @ ckpt/a", "rate"] == pytest.approx(1.0)
    assert kinova.loc["random", "n"] == 2
    lo, hi = wilson_interval(1, 2)
    assert (kinova.loc["random", "ci95_low"], kinova.loc["random", "ci95_high"]) == pytest.approx((lo, hi))

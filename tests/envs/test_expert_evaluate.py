"""envs.experts.evaluate: the success-table CLI (usage errors, cell results, markdown rendering)."""

from __future__ import annotations

import json

import pytest

from envs.experts import evaluate


def test_zero_agent_never_opens_the_drawer():
    cell = evaluate.run_cell(
        "OpenDrawer", "panda", seeds=2, agent="zero", action_space="joint_position", horizon=15
    )
    assert cell["successes"] == 0 and cell["failed_seeds"] == [0, 1] and cell["rate"] == 0.0
    assert cell["steps"] == 30  # both episodes ran to the (overridden) horizon


def test_cli_writes_jsonl_and_renders_markdown(tmp_path, capsys):
    path = tmp_path / "cells.jsonl"
    argv = [
        "--seeds",
        "1",
        "--tasks",
        "OpenDrawer",
        "--embodiments",
        "panda",
        "--jsonl",
        str(path),
        "--markdown",
    ]
    assert evaluate.main(argv) == 0
    cell = json.loads(path.read_text().splitlines()[0])
    assert cell["task"] == "OpenDrawer" and cell["successes"] == 1
    out = capsys.readouterr().out
    assert "| OpenDrawer | 100% (1/1) |" in out
    assert evaluate.main(["--from-jsonl", str(path)]) == 0
    assert "| task | panda |" in capsys.readouterr().out


def test_markdown_table_marks_missing_cells():
    cells = [
        {"task": "A", "embodiment": "panda", "successes": 45, "seeds": 50, "rate": 0.9},
        {"task": "B", "embodiment": "iiwa", "successes": 1, "seeds": 2, "rate": 0.5},
    ]
    table = evaluate.markdown_table(cells).splitlines()
    assert table[0] == "| task | panda | iiwa |"
    assert table[2] == "| A | 90% (45/50) | — |" and table[3] == "| B | — | 50% (1/2) |"


def test_usage_errors_exit_2(capsys):
    assert evaluate.main(["--tasks", "Nope"]) == 2
    assert evaluate.main(["--embodiments", "r2d2"]) == 2
    assert evaluate.main(["--agent", "oracle"]) == 2
    assert evaluate.main(["--seeds", "0"]) == 2
    assert "error:" in capsys.readouterr().err


def test_merge_cells_sums_disjoint_seed_ranges_and_rejects_duplicates():
    base = {"task": "A", "embodiment": "panda", "agent": "expert", "action_space": "joint_position"}
    first = {
        **base,
        "seeds": 20,
        "first_seed": 0,
        "successes": 19,
        "failed_seeds": [4],
        "steps": 100,
        "seconds": 1,
    }
    second = {
        **base,
        "seeds": 30,
        "first_seed": 20,
        "successes": 30,
        "failed_seeds": [],
        "steps": 150,
        "seconds": 2,
    }
    (merged,) = evaluate.merge_cells([first, second])
    assert (merged["seeds"], merged["successes"], merged["failed_seeds"]) == (50, 49, [4])
    assert merged["rate"] == 49 / 50 and first["failed_seeds"] == [4]  # inputs untouched
    with pytest.raises(ValueError, match="duplicate"):
        evaluate.merge_cells([first, first])

"""The regression gate `evals.compare` and its statistics `evals.compare_stats`, on tiny synthetic runs."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

from evals.reports import compare
from evals.reports.compare_stats import (
    fisher_exact,
    holm_adjust,
    mcnemar_exact,
    min_attainable_p,
    newcombe_interval,
)
from evals.runner.stats import Z_95


def write_run(path: Path, rows: list[dict], **info) -> Path:
    """A minimal run directory: run.json + episodes.parquet (defaults fill the columns the tools read)."""
    path.mkdir(parents=True)
    defaults = {
        "task": "Lift",
        "embodiment": "panda",
        "steps": 10,
        "termination_reason": None,
        "error": "",
        "error_type": "",
    }
    frame = pd.DataFrame([{**defaults, **r} for r in rows])
    frame["termination_reason"] = [
        t if t else ("success" if s else "horizon")
        for t, s in zip(frame["termination_reason"], frame["success"], strict=True)
    ]
    frame["success_any"] = frame["success"]
    frame["final_progress"] = frame["success"].astype(float)
    frame.to_parquet(path / "episodes.parquet")
    run_json = {
        "suite_name": info.pop("suite_name", "smoke"),
        "suite_version": info.pop("suite_version", "1"),
        "task_fingerprints": info.pop("task_fingerprints", {"Lift": "abc", "Push": "def"}),
        "policy": {"name": info.pop("policy", "expert"), "checkpoint": info.pop("checkpoint", None)},
        "policy_spec": "expert",
        "git_commit": "0" * 40,
        "status": "completed",
        **info,
    }
    (path / "run.json").write_text(json.dumps(run_json))
    return path


def episodes(case: str, successes: list[bool], **extra) -> list[dict]:
    return [{"case_id": case, "seed": i, "success": s, **extra} for i, s in enumerate(successes)]


# ---- statistics against published / independently computed values ----


def test_fisher_exact_known_tables():
    # Wikipedia's dieting example and Fisher's tea-tasting table (R fisher.test gives the same).
    assert fisher_exact(1, 9, 11, 3) == pytest.approx(0.002759, abs=1e-6)
    assert fisher_exact(3, 1, 1, 3) == pytest.approx(34 / 70)
    assert fisher_exact(5, 5, 5, 5) == pytest.approx(1.0)
    # Transposing or swapping rows describes the same table.
    assert fisher_exact(2, 7, 8, 2) == pytest.approx(fisher_exact(8, 2, 2, 7))
    assert fisher_exact(2, 7, 8, 2) == pytest.approx(fisher_exact(2, 8, 7, 2))


def test_mcnemar_exact_is_a_two_sided_binomial_test():
    assert mcnemar_exact(2, 8) == pytest.approx(2 * (1 + 10 + 45) / 1024)
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    assert mcnemar_exact(5, 5) == 1.0  # capped
    assert mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError):
        mcnemar_exact(-1, 2)


@pytest.mark.parametrize(
    ("counts", "published"),
    [
        # Newcombe (1998), Stat. Med. 17:873, Table II, method 10 (score, no continuity correction).
        ((56, 70, 48, 80), (0.0524, 0.3339)),
        ((9, 10, 3, 10), (0.1705, 0.8090)),
        ((5, 56, 0, 29), (-0.0381, 0.1926)),
        ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ],
)
def test_newcombe_interval_matches_published_values(counts, published):
    lo, hi = newcombe_interval(*counts)
    assert (lo, hi) == pytest.approx(published, abs=6e-5)


def _wilson_by_bisection(k: int, n: int) -> tuple[float, float]:
    """Wilson limits as the roots of the score equation |k/n - p| = z sqrt(p(1-p)/n) (independent method)."""
    phat = k / n

    def outside(p: float) -> bool:
        return abs(phat - p) > Z_95 * math.sqrt(p * (1 - p) / n)

    def root(a: float, b: float) -> float:  # a inside the interval, b outside (or at the boundary)
        for _ in range(200):
            m = (a + b) / 2
            a, b = (a, m) if outside(m) else (m, b)
        return (a + b) / 2

    return (0.0 if k == 0 else root(phat, 0.0)), (1.0 if k == n else root(phat, 1.0))


@pytest.mark.parametrize("counts", [(56, 70, 48, 80), (3, 9, 7, 8), (0, 5, 5, 5), (12, 40, 30, 31)])
def test_newcombe_interval_matches_bisection_wilson_limits(counts):
    k1, n1, k2, n2 = counts
    (l1, u1), (l2, u2) = _wilson_by_bisection(k1, n1), _wilson_by_bisection(k2, n2)
    d = k1 / n1 - k2 / n2
    expected = (d - math.hypot(k1 / n1 - l1, u2 - k2 / n2), d + math.hypot(u1 - k1 / n1, k2 / n2 - l2))
    assert newcombe_interval(*counts) == pytest.approx(expected, abs=1e-9)
    assert expected[0] <= d <= expected[1]


def test_holm_adjust_matches_r_p_adjust():
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") -> 0.03 0.06 0.06 0.02
    assert holm_adjust([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    adjusted = holm_adjust([0.2, float("nan"), 0.9])  # NaN is not part of the family (m = 2)
    assert adjusted[0] == pytest.approx(0.4) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.9)


def test_min_attainable_p():
    assert min_attainable_p(True, 5, 5) == pytest.approx(2 / 32)
    assert min_attainable_p(False, 3, 3) == pytest.approx(fisher_exact(0, 3, 3, 0)) == pytest.approx(0.1)


# ---- the gate ----


def test_paired_regression_is_flagged_and_exits_1(tmp_path, capsys):
    base = write_run(tmp_path / "base", episodes("lift", [True] * 20))
    cand = write_run(tmp_path / "cand", episodes("lift", [True] * 8 + [False] * 12))
    out = tmp_path / "cmp.json"
    assert compare.main([str(base), str(cand), "--json", str(out)]) == compare.EXIT_REGRESSION
    assert "REGRESSION" in capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["regression"] is True
    overall = result["rows"][0]
    assert overall["group"] == "all" and overall["test"] == "mcnemar"
    assert overall["only_baseline_succeeded"] == 12 and overall["only_candidate_succeeded"] == 0
    assert overall["p_value"] == pytest.approx(mcnemar_exact(12, 0))
    assert overall["delta"] == pytest.approx(-0.6)
    assert overall["ci95_low"] < -0.6 < overall["ci95_high"] < 0


def test_small_or_insignificant_drops_pass(tmp_path):
    base = write_run(tmp_path / "base", episodes("lift", [True] * 20))
    cand = write_run(tmp_path / "cand", episodes("lift", [True] * 17 + [False] * 3))
    # 3 discordant pairs: p = 0.25, not significant.
    assert compare.main([str(base), str(cand)]) == compare.EXIT_OK
    # A significant drop that --max-drop tolerates is reported but does not fail the gate.
    worse = write_run(tmp_path / "worse", episodes("lift", [True] * 12 + [False] * 8))
    table = compare.compare_runs(
        compare.load_run(base).episodes, compare.load_run(worse).episodes, max_drop=0.5
    )
    assert table.loc[0, "verdict"] == "drop<max"
    assert compare.main([str(base), str(worse), "--max-drop", "0.5"]) == compare.EXIT_OK


def test_holm_adjustment_can_clear_a_per_group_flag(tmp_path):
    # Case "a" drops 10 -> 3 of 10 (McNemar p = 2/2^7 = 0.0156); nine unchanged cases make a family of 10.
    rows_b = [r for c in "abcdefghij" for r in episodes(c, [True] * 10)]
    rows_c = episodes("a", [True] * 3 + [False] * 7) + [
        r for c in "bcdefghij" for r in episodes(c, [True] * 10)
    ]
    base, cand = (
        compare.load_run(write_run(tmp_path / n, r)).episodes for n, r in (("b", rows_b), ("c", rows_c))
    )
    plain = compare.compare_runs(base, cand)
    holm = compare.compare_runs(base, cand, adjust="holm")
    assert plain.loc[1, "verdict"] == "REGRESSION" and plain.loc[1, "p_adjusted"] == plain.loc[1, "p_value"]
    assert holm.loc[1, "p_adjusted"] == pytest.approx(min(1, 10 * mcnemar_exact(7, 0)))
    assert holm.loc[1, "verdict"] == "ok"
    # The overall row is not adjusted: 7 of 100 pairs is significant but within --max-drop 0.1.
    assert holm.loc[0, "p_adjusted"] == holm.loc[0, "p_value"] and holm.loc[0, "verdict"] == "drop<max"


def test_unpaired_groups_use_fisher(tmp_path):
    base = write_run(tmp_path / "base", episodes("lift", [True] * 10))
    cand_rows = [{"case_id": "lift", "seed": 100 + i, "success": i < 2} for i in range(10)]
    cand = write_run(tmp_path / "cand", cand_rows)
    table = compare.compare_runs(compare.load_run(base).episodes, compare.load_run(cand).episodes)
    assert table.loc[0, "test"] == "fisher"
    assert table.loc[0, "p_value"] == pytest.approx(fisher_exact(2, 8, 10, 0))
    assert table.loc[0, "verdict"] == "REGRESSION"


def test_errored_episodes_are_not_failures(tmp_path, capsys):
    base = write_run(tmp_path / "base", episodes("lift", [True] * 10))
    rows = episodes("lift", [True] * 10)
    for r in rows[:6]:  # six crashes: counting them as failures would be a significant drop
        r.update(success=False, termination_reason="error", error="boom", error_type="RuntimeError")
    cand = write_run(tmp_path / "cand", rows)
    assert compare.main([str(base), str(cand)]) == compare.EXIT_OK
    out = capsys.readouterr().out
    assert "errored (candidate): lift seed 0: RuntimeError: boom" in out
    table = compare.compare_runs(compare.load_run(base).episodes, compare.load_run(cand).episodes)
    row = table.iloc[0]
    assert (row.n_baseline, row.n_candidate, row.errors_candidate) == (4, 4, 6)
    assert row.excluded_partner_errored == 6 and row.rate_candidate == 1.0


def test_groups_by_task(tmp_path):
    rows_b = episodes("lift", [True] * 10, task="Lift") + episodes("push", [True] * 10, task="Push")
    rows_c = episodes("lift", [True] * 10, task="Lift") + episodes("push", [False] * 10, task="Push")
    base, cand = write_run(tmp_path / "b", rows_b), write_run(tmp_path / "c", rows_c)
    table = compare.compare_runs(
        compare.load_run(base).episodes, compare.load_run(cand).episodes, group="task"
    )
    assert table["group"].tolist() == ["all", "Lift", "Push"]
    assert table["verdict"].tolist() == ["REGRESSION", "ok", "REGRESSION"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"task_fingerprints": {"Lift": "CHANGED", "Push": "def"}}, "task 'Lift' changed"),
        ({"suite_version": "2"}, "suite_version differs"),
    ],
)
def test_changed_tasks_are_refused_unless_allowed(tmp_path, capsys, change, message):
    base = write_run(tmp_path / "base", episodes("lift", [True] * 5))
    cand = write_run(tmp_path / "cand", episodes("lift", [True] * 5), **change)
    assert compare.main([str(base), str(cand)]) == compare.EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "--allow-changed-tasks" in err and len(err.strip().splitlines()) == 1
    assert compare.main([str(base), str(cand), "--allow-changed-tasks"]) == compare.EXIT_OK


def test_usage_errors_exit_2(tmp_path, capsys):
    base = write_run(tmp_path / "base", episodes("lift", [True] * 5))
    assert compare.main([str(base), str(tmp_path / "missing")]) == compare.EXIT_USAGE
    assert "no run.json" in capsys.readouterr().err
    assert compare.main([str(base), str(base), "--alpha", "1.5"]) == compare.EXIT_USAGE
    with pytest.raises(SystemExit) as e:
        compare.main([str(base), str(base), "--group", "nope"])
    assert e.value.code == 2


# ---- end to end over directories written by the real runner (fake env backend, seconds) ----


def make_runner_dirs(tmp_path_factory) -> dict[str, Path]:
    """Run directories of the fake suite for the expert and random policies, written by `evals.run`."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
    from runner_helpers import run_main, write_suite

    tmp = tmp_path_factory.mktemp("runner")
    suite = write_suite(tmp)
    dirs = {}
    for policy in ("expert", "random"):
        dirs[policy] = tmp / policy
        # The suite's FakeCrash case errors, so the runner exits 1 (see docs/runner.md).
        assert run_main(["--suite", suite, "--policy", policy, "--output", dirs[policy], "--quiet"]) == 1
    return dirs


@pytest.fixture(scope="module")
def runner_dirs(tmp_path_factory):
    return make_runner_dirs(tmp_path_factory)


def test_runner_output_compares_with_errors_reported(runner_dirs, tmp_path, capsys):
    out = tmp_path / "cmp.json"
    rc = compare.main(
        [str(runner_dirs["expert"]), str(runner_dirs["random"]), "--group", "embodiment", "--json", str(out)]
    )
    result = json.loads(out.read_text())
    assert rc == (compare.EXIT_REGRESSION if result["regression"] else compare.EXIT_OK)
    assert [e["case_id"] for e in result["errored_episodes"]] == ["crash", "crash"]
    overall = result["rows"][0]
    assert overall["errors_baseline"] == overall["errors_candidate"] == 1
    assert overall["n_baseline"] == overall["n_candidate"] == 4  # 5 episodes, the crash left out
    assert compare.main([str(runner_dirs["expert"]), str(runner_dirs["expert"])]) == compare.EXIT_OK


def test_load_run_reads_parts_of_an_unfinished_run(tmp_path):
    run = write_run(tmp_path / "run", episodes("lift", [True, False, True]))
    frame = pd.read_parquet(run / "episodes.parquet")
    (run / "episodes").mkdir()
    for i in range(len(frame)):
        frame.iloc[[i]].to_parquet(run / "episodes" / f"lift__seed{i}.parquet")
    (run / "episodes.parquet").unlink()
    loaded = compare.load_run(run).episodes
    assert loaded["success"].tolist() == [True, False, True]
    (run / "run.json").write_text("{not json")
    with pytest.raises(compare.RunDirError, match=r"run\.json: unreadable"):
        compare.load_run(run)

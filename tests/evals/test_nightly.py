"""`evals.nightly` on synthetic nights of the fake env: baseline, a clear regression, noise, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
import fake_env
from runner_helpers import write_suite

from evals import nightly

SEEDS = list(range(10))


class FlakyFactory(fake_env.FakeFactory):
    """The expert, except that on seed 3 it sends random actions (one flipped episode: noise)."""

    def __init__(self):
        super().__init__("expert")

    def for_episode(self, env, *, seed, episode_key):
        kind = "random" if episode_key.get("seed") == 3 else "expert"
        return fake_env.FakePolicy(env, kind, seed)


def build(spec: str, *, checkpoint=None, options=None):
    return FlakyFactory() if spec == "flaky" else fake_env.FakeFactory(spec)


@pytest.fixture
def setup(tmp_path):
    doc = {
        "format_version": 1,
        "name": "fake",
        "version": "1",
        "defaults": {"task": "FakeReach", "seeds": SEEDS, "horizon": 20, "image_size": [24, 32]},
        "cases": [{"id": "reach"}],
    }
    suite = write_suite(tmp_path, doc)
    dirs = ["--baseline-dir", str(tmp_path / "baseline"), "--out", str(tmp_path / "out")]

    def night(policy: str) -> int:
        return nightly.main(["--suite", str(suite), "--policy", policy, *dirs], backend=fake_env.fake_backend(),
                            policy_builder=build)  # fmt: skip

    return tmp_path, night, dirs


def history(tmp_path: Path) -> pd.DataFrame:
    return pd.read_csv(tmp_path / "out" / "history.csv")


def test_first_night_records_the_baseline_then_a_clear_regression_exits_1(setup):
    tmp_path, night, _ = setup
    assert night("expert") == 0
    assert (tmp_path / "baseline" / "run" / "episodes.parquet").is_file()
    assert night("random") == 1
    h = history(tmp_path)
    assert h["verdict"].tolist() == ["baseline", "REGRESSION"]
    assert h.loc[0, "rate"] == 1.0 and h.loc[1, "rate"] == 0.0
    assert h.loc[1, "baseline_rate"] == 1.0 and h.loc[1, "p_value"] < 0.05
    assert h["latency_p50_ms"].notna().all()
    # The baseline stays the expert's run: a regression does not replace it.
    base = json.loads((tmp_path / "baseline" / "run" / "run.json").read_text())
    assert base["policy"]["name"] == "expert"
    nights = sorted((tmp_path / "out" / "nights").iterdir())
    for name in ("report.html", "analysis/analysis.md", "leaderboard.md", "leaderboard.png", "compare.csv"):
        assert (nights[1] / name).is_file(), name
    assert (tmp_path / "out" / "trend.png").read_bytes()[:4] == b"\x89PNG"


def test_noise_is_not_a_regression(setup):
    tmp_path, night, _ = setup
    assert night("expert") == 0
    assert night("flaky") == 0  # one of ten episodes flipped: not significant
    h = history(tmp_path)
    assert h.loc[1, "verdict"] == "ok"
    assert h.loc[1, "rate"] == pytest.approx(0.9)


def test_episode_errors_exit_3_and_promote_moves_the_baseline(setup, capsys):
    tmp_path, night, dirs = setup
    assert night("raise") == 3  # the first night errored: no baseline is recorded from it
    assert not (tmp_path / "baseline" / "run").exists()
    assert nightly.main(["--promote", *dirs]) == 2  # refusing to promote an errored night
    assert "episode errors" in capsys.readouterr().err
    assert night("flaky") == 0  # first good night: the baseline
    assert night("random") == 1
    assert nightly.main(["--promote", *dirs]) == 0  # an intended change: random becomes the baseline
    assert night("random") == 0
    assert history(tmp_path)["verdict"].tolist() == ["errors", "baseline", "REGRESSION", "ok"]
    assert np.isnan(history(tmp_path).loc[0, "baseline_rate"])


def test_usage_errors_exit_2(setup, tmp_path, capsys):
    _, _, dirs = setup
    assert nightly.main(["--policy", "expert", *dirs]) == 2
    assert "--suite and --policy are required" in capsys.readouterr().err
    assert nightly.main(["--promote", *dirs]) == 2
    assert "no history.csv" in capsys.readouterr().err


def test_judge_never_reads_errored_episodes_as_a_pass(tmp_path):
    from test_compare import write_run

    from evals.reports.nightly import judge
    from evals.reports.run_dir import load_run

    rows = [{"case_id": "a", "seed": s, "success": True} for s in range(5)]
    good = load_run(write_run(tmp_path / "good", rows))
    crashed = load_run(write_run(tmp_path / "bad", [*rows[:4], {**rows[4], "termination_reason": "error"}]))
    assert judge(None, crashed, 0.05, 0.1).verdict == "errors"  # never recorded as the first baseline
    assert judge(good, crashed, 0.05, 0.1).verdict == "errors"
    assert judge(None, good, 0.05, 0.1).verdict == "baseline"

"""`--policy dreamzero --batch 4` on the smoke suite: the same successes as `--batch 1` (the shipped small
weights). Slow: two full smoke runs of the model on CPU (a few minutes each)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def _smoke(out: Path, batch: int) -> pd.DataFrame:
    cmd = [sys.executable, "-m", "evals.run", "--suite", "test_cases/smoke.json", "--policy", "dreamzero"]
    cmd += ["--video", "none", "--quiet", "--batch", str(batch), "--output", str(out)]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=1700)
    assert done.returncode == 0, done.stderr[-2000:]
    return pd.read_parquet(out / "episodes.parquet").set_index(["case_id", "seed"])


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_dreamzero_smoke_successes_with_batch_4_equal_batch_1(tmp_path):
    one, four = _smoke(tmp_path / "b1", 1), _smoke(tmp_path / "b4", 4)
    assert (one.error == "").all() and (four.error == "").all()
    flips = one.index[one.success != four.success].tolist()
    assert not flips, f"success flipped between --batch 1 and --batch 4 on {flips}"
    # Same model calls at the same steps: every episode asked for its chunks when they were due.
    pd.testing.assert_series_equal(one.policy_calls, four.policy_calls)

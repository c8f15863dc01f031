"""The shipped small DreamZero is the default ``dreamzero`` policy and solves the smoke suite's Lift case.

This guards the whole model path end to end (checkpoint load, VAE + text encoders, KV-cached chunk
sampling with the DiT step cache, denormalisation, the chunk adapter): break any of them and the trained
policy stops lifting the cube.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dreamzero_jax.checkpoint.shipped import shipped_checkpoint
from dreamzero_jax.configs import get_config
from dreamzero_jax.inference.policy import resolve_config

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_checkpoint_is_the_small_config():
    path = shipped_checkpoint()
    assert path is not None, "dreamzero_jax/assets/dreamzero_small is missing (run ./dev train-small)"
    assert resolve_config(None, path) == get_config("small")
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert size <= 25e6, f"shipped weights are {size / 1e6:.1f} MB (limit 25 MB)"


@pytest.mark.timeout(900)
def test_default_dreamzero_lifts_the_cube_in_the_smoke_suite(tmp_path):
    cmd = [sys.executable, "-m", "evals.run", "--suite", "test_cases/smoke.json", "--cases", "lift-panda"]
    cmd += ["--policy", "dreamzero", "--video", "none", "--quiet", "--output", str(tmp_path / "run")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=880)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RANDOM" not in done.stderr  # the default is the trained model, not random weights
    episodes = pd.read_parquet(tmp_path / "run" / "episodes.parquet")
    assert episodes["success"].tolist() == [True], episodes[["success", "max_progress", "steps"]]

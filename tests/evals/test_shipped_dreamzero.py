"""The shipped small DreamZero is the default ``dreamzero`` policy: no flag needed, no random weights.

The smoke suite's Lift case runs end to end through the default path (shipped checkpoint -> abstract
load -> VAE + text encoders -> KV-cached chunk sampling with the DiT step cache -> the chunk adapter) and
must succeed: break the KV cache, the action statistics or the sampler and the cube stays on the table.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from dreamzero_jax.checkpoint import resolve_config
from dreamzero_jax.checkpoint.shipped import shipped_checkpoint
from dreamzero_jax.configs import get_config

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_checkpoint_is_the_small_config():
    path = shipped_checkpoint()
    assert path is not None, "dreamzero_jax/assets/dreamzero_small is missing (run ./dev train-small)"
    recorded, small = resolve_config(None, path), get_config("small")
    # the same model, except the VAE's latent constants: fitted to the demonstrations (the VAE is random)
    assert dataclasses.replace(recorded, vae=small.vae) == small
    assert recorded.vae.latent_std != small.vae.latent_std
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    assert size <= 25e6, f"shipped weights are {size / 1e6:.1f} MB (limit 25 MB)"


@pytest.mark.timeout(900)
def test_default_dreamzero_runs_the_shipped_weights_on_the_smoke_lift_case(tmp_path):
    cmd = [sys.executable, "-m", "evals.run", "--suite", "test_cases/smoke.json", "--cases", "lift-panda"]
    cmd += ["--policy", "dreamzero", "--video", "none", "--quiet", "--output", str(tmp_path / "run")]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=880)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "RANDOM" not in done.stderr  # the default is the trained model, not random weights
    episodes = pd.read_parquet(tmp_path / "run" / "episodes.parquet")
    assert episodes["error"].tolist() == [""]
    # the trained model lifts the cube before the case's 80-step horizon (the expert needs ~40 steps)
    assert episodes["success"].tolist() == [True]
    steps = int(episodes["steps"].iloc[0])
    assert steps < 80 and episodes["policy_calls"].tolist() == [-(-steps // 8)]  # 8 actions per call
    metadata = json.loads((tmp_path / "run" / "run.json").read_text())["policy"]["metadata"]
    assert metadata["config"]["checkpoint"] == str(shipped_checkpoint())

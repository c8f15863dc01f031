"""Loading a checkpoint builds the model abstractly: no initialiser runs, host memory ~ the checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.checkpoint import load_model, save_state
from dreamzero_jax.checkpoint.models import abstract_model, build_model
from dreamzero_jax.configs.dit import DiTConfig
from tests.dreamzero_jax._random_guard import InitialiserRan, forbid_concrete_random_draws

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("_load_rss_worker.py")


def test_load_model_runs_no_initialiser_and_restores_the_saved_values(tmp_path):
    cfg = DiTConfig.tiny()
    rng = np.random.default_rng(5)
    abstract = nnx.state(abstract_model("dit", cfg), nnx.Param)
    saved = jax.tree.map(lambda x: rng.standard_normal(x.shape).astype(x.dtype), abstract)
    save_state(tmp_path / "dit", saved)
    with forbid_concrete_random_draws():
        loaded = load_model("dit", cfg, tmp_path / "dit")
        with pytest.raises(InitialiserRan):  # the guard does catch a concrete build
            build_model("dit", cfg, nnx.Rngs(0))
    pairs = zip(jax.tree.leaves(nnx.state(loaded, nnx.Param)), jax.tree.leaves(saved), strict=True)
    for a, b in pairs:
        np.testing.assert_array_equal(a, b)


def _worker(*args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    done = subprocess.run(
        [sys.executable, str(WORKER), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow  # ~20 s: writes and reads 366 MB
def test_peak_host_memory_of_a_load_stays_near_the_checkpoint_size(tmp_path):
    """~366 MB of float32 weights: measured +1.56x the weights (orbax read buffers) for the abstract
    load, +3.4x for the old random-build-then-restore; the bound sits between."""
    _worker("write", str(tmp_path / "ckpt"))
    report = json.loads(_worker("load", str(tmp_path / "ckpt")).strip().splitlines()[-1])
    extra = report["peak"] - report["before"]
    assert report["bytes"] > 300e6
    assert extra <= 2.0 * report["bytes"], (
        f"load added {extra / 1e6:.0f} MB for {report['bytes'] / 1e6:.0f} MB"
    )


def test_load_with_a_mesh_reads_each_parameter_into_its_shards(tmp_path):
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "JAX_PLATFORMS": "cpu",
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
    }
    worker = Path(__file__).with_name("_sharded_load_worker.py")
    done = subprocess.run(
        [sys.executable, str(worker), str(tmp_path / "dit")], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stdout + done.stderr[-3000:]

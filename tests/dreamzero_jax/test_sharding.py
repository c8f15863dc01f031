"""Sharded (2x4 mesh of forced host devices) vs unsharded tiny DiT; runs in a subprocess because the
device-count flag must be set before jax initialises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jax
import pytest
from jax.sharding import PartitionSpec as P

from dreamzero_jax.sharding import MODEL, make_mesh, spec_for

WORKER = Path(__file__).with_name("_sharding_worker.py")
BATCHED_WORKER = Path(__file__).with_name("_batched_sharding_worker.py")
REPO = Path(__file__).resolve().parents[2]


def _run_worker(*args: str, worker: Path = WORKER) -> str:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(worker), *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=900
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_partition_rules_by_name():
    mesh = make_mesh(data=1, model=1)
    assert spec_for("blocks.3.self_attn.q.kernel", (64, 64), mesh) == P(None, MODEL)
    assert spec_for("blocks.3.cross_attn.o.kernel", (64, 64), mesh) == P(MODEL, None)
    assert spec_for("blocks.0.ffn.fc1.bias", (160,), mesh) == P(MODEL)
    assert spec_for("blocks.0.modulation", (1, 6, 64), mesh) == P()
    assert spec_for("action_encoder.W1.W", (1, 8, 64), mesh) == P()
    assert spec_for("blocks.0.self_attn.norm_q.weight", (64,), mesh) == P()


def test_indivisible_dimension_stays_whole():
    devices = jax.devices()[:1] * 3  # spec_for only reads the mesh shape
    mesh = make_mesh(data=1, model=3, devices=devices)
    assert spec_for("blocks.0.ffn.fc1.kernel", (64, 160), mesh) == P(None, None)
    assert spec_for("blocks.0.ffn.fc1.kernel", (64, 162), mesh) == P(None, MODEL)


def test_sharded_training_forward_matches_unsharded():
    assert "max_abs_errs" in _run_worker()


@pytest.mark.slow
def test_sharded_cached_forward_matches_unsharded():
    assert "max_abs_errs" in _run_worker("--cached")


def test_batched_sessions_sharded_over_data_match_unsharded():
    """Eight sessions, one per device on the 'data' axis, at mixed chunk indices (see the worker)."""
    assert "max_abs_errs" in _run_worker(worker=BATCHED_WORKER)

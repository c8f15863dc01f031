"""A data-parallel train step (8 forced host devices, subprocess) equals the single-device step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("_train_sharding_worker.py")
REPO = Path(__file__).resolve().parents[3]


def test_sharded_train_step_matches_unsharded():
    env = {
        **os.environ,
        "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run(
        [sys.executable, str(WORKER)], capture_output=True, text=True, env=env, cwd=REPO, timeout=900
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "max_abs_err" in proc.stdout

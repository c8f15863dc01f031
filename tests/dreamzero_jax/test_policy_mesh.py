"""The ``mesh`` policy option: the same actions sharded over 8 forced host devices as on one device."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dreamzero_jax.sharding import parse_mesh

WORKER = Path(__file__).with_name("_policy_mesh_worker.py")
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # ~1-4 min: builds the tiny policy twice on 8 forced host devices
def test_sharded_and_unsharded_policies_return_the_same_actions():
    env = {**os.environ, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(WORKER), "data:1,model:8"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for mesh, r in report.items():
        assert r["scale"] > 0.1, r  # denormalised joint targets, radians
        assert r["max_abs_diff"] <= 1e-4, (mesh, r)  # float32 reduction order differs across devices


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        ("data:1,model:8", {"data": 1, "model": 8}),
        ("model=8", {"data": 1, "model": 8}),
        ("data:2", {"data": 2, "model": 1}),
    ],
)
def test_parse_mesh(text, sizes):
    assert parse_mesh(text) == sizes


@pytest.mark.parametrize("text", ["", "model:0", "tensor:8", "model:8,model:2", "model:x", "model"])
def test_parse_mesh_rejects_what_it_cannot_build(text):
    with pytest.raises(ValueError, match="mesh"):
        parse_mesh(text)

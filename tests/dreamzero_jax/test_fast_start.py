"""Building the shipped DreamZero from its weights runs no random initialiser (abstract build, then load)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dreamzero_jax.checkpoint.shipped import shipped_checkpoint

REPO = Path(__file__).resolve().parents[2]

# Builds the policy in a fresh process (nothing compiled yet) and prints the names of the programs JAX
# compiled meanwhile; `argv[1]` is "weights" (the shipped checkpoint) or "random" (random weights).
_CHILD = """
import json, logging, re, sys
import jax
names = []
class Grab(logging.Handler):
    def emit(self, record):
        m = re.match(r"Compiling (\\S+)", record.getMessage())
        if m:
            names.append(m.group(1))
logging.getLogger("jax").addHandler(Grab())
jax.config.update("jax_log_compiles", True)
from dreamzero_jax.checkpoint.shipped import shipped_checkpoint
from dreamzero_jax.inference import DreamZeroPolicy
ckpt = shipped_checkpoint() if sys.argv[1] == "weights" else None
DreamZeroPolicy.from_config(config_name=None if ckpt else "small", checkpoint=ckpt)
print(json.dumps(names))
"""
_RANDOM = ("normal", "uniform", "threefry", "random_bits", "truncated")


def _compiled_while_building(source: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DZ_JAX_CACHE": "off", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, source],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(shipped_checkpoint() is None, reason="this install ships no trained weights")
def test_building_from_weights_runs_no_random_initialiser():
    from_weights = _compiled_while_building("weights")
    assert from_weights  # the log is captured (the sampler stages its schedule tables)
    assert not [n for n in from_weights if any(r in n for r in _RANDOM)], from_weights


@pytest.mark.slow
def test_the_detector_sees_random_initialisers():
    random = _compiled_while_building("random")  # random weights of the same config: initialisers run
    assert [n for n in random if any(r in n for r in _RANDOM)], random

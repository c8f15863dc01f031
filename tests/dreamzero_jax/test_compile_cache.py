"""The persistent compilation cache: where it lives, how to turn it off, and that a second process hits it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dreamzero_jax.compile_cache import default_cache_dir, resolve_cache_dir

REPO = Path(__file__).resolve().parents[2]

# A fresh process that enables the cache, compiles two programs (one eager op, one jitted function) and
# prints how many compilations JAX looked up in the persistent cache and how many it found there.
_CHILD = """
import json, jax, jax.numpy as jnp
from dreamzero_jax.compile_cache import enable_compile_cache
counts = {"cache_hits": 0, "cache_misses": 0}
def listen(event, **kwargs):
    name = event.rsplit("/", 1)[-1]
    if name in counts:
        counts[name] += 1
jax.monitoring.register_event_listener(listen)
path = enable_compile_cache()
x = jnp.arange(6.0) * 3.0
y = jax.jit(lambda a: jnp.sin(a) @ a + 1.0)(x)
print(json.dumps({"dir": str(path), "value": float(y), **counts}))
"""


def _child(env_value: str) -> dict:
    env = {**os.environ, "DZ_JAX_CACHE": env_value, "PYTHONPATH": str(REPO), "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_hits_the_cache(tmp_path):
    cache = tmp_path / "jax_cache"
    first = _child(str(cache))
    assert first["dir"] == str(cache) and first["cache_hits"] == 0 and first["cache_misses"] >= 2
    assert any(cache.iterdir())  # small programs are written too (min compile time 0)
    second = _child(str(cache))
    assert second["cache_misses"] == 0 and second["cache_hits"] == first["cache_misses"]
    assert second["value"] == first["value"]


def test_off_disables_the_cache(tmp_path):
    out = _child("off")
    assert out["dir"] == "None" and out["cache_hits"] == 0


def test_directory_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "dreamzero_jax" / "jax_cache"
    assert resolve_cache_dir(None) == resolve_cache_dir("  ") == default_cache_dir()
    assert resolve_cache_dir("OFF") is None and resolve_cache_dir("0") is None
    assert resolve_cache_dir(str(tmp_path / "c")) == tmp_path / "c"

"""Training tests build fresh jitted steps per run (as real runs do); a persistent compilation cache
shared by this directory's tests lets the second and later runs of a program skip XLA compilation."""

from __future__ import annotations

import jax
import pytest

_OPTIONS = {
    "jax_persistent_cache_min_compile_time_secs": 0.0,
    "jax_persistent_cache_min_entry_size_bytes": 0,
}


@pytest.fixture(scope="session")
def _compile_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("jax_compile_cache")


@pytest.fixture(autouse=True, scope="module")
def _compile_cache(_compile_cache_dir):
    names = ["jax_compilation_cache_dir", *_OPTIONS]
    old = {name: getattr(jax.config, name) for name in names}
    jax.config.update("jax_compilation_cache_dir", str(_compile_cache_dir))
    for name, value in _OPTIONS.items():
        jax.config.update(name, value)
    yield
    for name, value in old.items():
        jax.config.update(name, value)

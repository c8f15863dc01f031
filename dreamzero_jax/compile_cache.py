"""JAX's persistent compilation cache for every process that runs DreamZero (policy, server, benchmarks).

A fresh process otherwise recompiles every jitted program of the model (the encoders, the KV fill, the
denoising loop and many small eager ops) before its first action. With the cache, a second process loads the
compiled executables from disk instead. The minimum compile time and entry size are set to 0 so the many
small programs are cached too (JAX's defaults skip programs that compile in under a second).

Directory, first that applies:

1. ``jax_compilation_cache_dir`` already configured (``JAX_COMPILATION_CACHE_DIR`` or ``jax.config``): kept;
2. ``$DZ_JAX_CACHE``: a directory, or ``off`` (also ``0``, ``none``, ``false``) to disable the cache;
3. ``$XDG_CACHE_HOME/dreamzero_jax/jax_cache`` (``~/.cache/dreamzero_jax/jax_cache`` without XDG_CACHE_HOME).

Entries are keyed by the program, the JAX/XLA version and the device, so a stale entry is never used; the
directory can be deleted at any time.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
from jax.experimental.compilation_cache import compilation_cache

ENV_VAR = "DZ_JAX_CACHE"
_OFF = {"off", "0", "none", "false"}


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/dreamzero_jax/jax_cache``, or ``~/.cache/dreamzero_jax/jax_cache``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dreamzero_jax" / "jax_cache"


def resolve_cache_dir(value: str | None) -> Path | None:
    """The directory a ``DZ_JAX_CACHE`` value names: unset or empty -> the default, ``off`` -> None."""
    if value is None or not value.strip():
        return default_cache_dir()
    if value.strip().lower() in _OFF:
        return None
    return Path(value).expanduser()


def enable_compile_cache(directory: str | Path | None = None) -> Path | None:
    """Turn on the persistent compilation cache (idempotent) and return its directory (None: disabled).

    ``directory`` overrides ``$DZ_JAX_CACHE``. A directory already configured in JAX is kept unless
    ``directory`` is given. Call before the process compiles anything: JAX decides once, at its first
    compilation, whether the cache is in use (this function resets that decision when it changes the
    directory, so later compilations use it).
    """
    configured = jax.config.jax_compilation_cache_dir
    if directory is None and configured:
        path: Path | None = Path(configured)
    else:
        path = Path(directory) if directory is not None else resolve_cache_dir(os.environ.get(ENV_VAR))
    if path is None:
        return None
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    if configured != str(path):
        jax.config.update("jax_compilation_cache_dir", str(path))
        compilation_cache.reset_cache()
    return path

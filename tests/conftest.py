"""Shared test configuration: headless rendering and the location of the reference fixtures."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
# Tests never write JAX's compilation cache into the user's home (dreamzero_jax.compile_cache); one shared
# directory per machine keeps later test runs fast. Spawned processes inherit it.
os.environ.setdefault("DZ_JAX_CACHE", str(Path(tempfile.gettempdir()) / "dz_jax_cache_tests"))

REPO = Path(__file__).resolve().parents[1]
# CI and developers have shared/ beside the checkout; DZ_FIXTURES overrides it.
FIXTURES = Path(os.environ.get("DZ_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Root of the reference fixtures (`dreamzero_tiny/`, `dreamzero_tiny_encoders/`)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"reference fixtures not found at {FIXTURES}; set DZ_FIXTURES")
    return FIXTURES

"""Shared test configuration: headless rendering and the location of the reference fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MUJOCO_GL", "egl")
os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

REPO = Path(__file__).resolve().parents[1]
# CI and developers have shared/ beside the checkout; DZ_FIXTURES overrides it.
FIXTURES = Path(os.environ.get("DZ_FIXTURES", REPO.parent / "shared" / "fixtures"))


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """Root of the reference fixtures (`dreamzero_tiny/`, `dreamzero_tiny_encoders/`)."""
    if not FIXTURES.is_dir():
        pytest.fail(f"reference fixtures not found at {FIXTURES}; set DZ_FIXTURES")
    return FIXTURES

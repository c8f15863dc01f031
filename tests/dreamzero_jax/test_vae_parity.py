"""Wan2.1 VAE against the upstream fixtures, through the same check functions as `python -m dreamzero_jax.parity`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dreamzero_jax.parity import checks_vae

ENCODERS = "dreamzero_tiny_encoders"


@pytest.fixture(scope="module")
def io(fixtures_dir: Path):
    return np.load(fixtures_dir / ENCODERS / "vae_io.npz")


@pytest.fixture(scope="module")
def model(fixtures_dir: Path):
    return checks_vae.load_tiny_vae(fixtures_dir / ENCODERS)


def _assert_all_pass(results) -> None:
    results = list(results)
    assert results
    failed = [r.line() for r in results if not r.passed]
    assert not failed, "\n".join(failed)


def test_encode_matches_upstream(model, io):
    _assert_all_pass(checks_vae.encode_checks(model, io))


def test_observation_preparation_matches_upstream(io):
    _assert_all_pass(checks_vae.observation_checks(io))


@pytest.mark.slow
def test_decode_matches_upstream(model, io):
    _assert_all_pass(checks_vae.decode_checks(model, io))


@pytest.mark.slow
def test_real_world_encode_matches_upstream(model, io):
    _assert_all_pass(checks_vae.real_world_encode_checks(model, io))


def test_checks_yield_nothing_without_fixture(tmp_path: Path):
    assert list(checks_vae.checks(tmp_path)) == []

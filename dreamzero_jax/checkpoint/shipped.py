"""The small DreamZero trained in this repository (``./dev train-small``), shipped as package data.

It is the default of ``--policy dreamzero``: params only (no optimizer state), in the layout of
:mod:`dreamzero_jax.checkpoint.policy_dir`.
"""

from __future__ import annotations

from pathlib import Path

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "assets" / "dreamzero_small"


def shipped_checkpoint() -> Path | None:
    """The shipped checkpoint directory, or None when this install has none (e.g. before the first recipe run)."""
    return SHIPPED_DIR if (SHIPPED_DIR / "model_config.json").is_file() else None

"""Hand the trained weights to the policy checkpoint writer (``dreamzero_jax.checkpoint``)."""

from __future__ import annotations

from pathlib import Path

from flax import nnx

from dreamzero_jax.checkpoint import export_policy
from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.train.loop import TrainResult
from dreamzero_jax.train.prepare import PreparedSamples


def export_trained(
    out_dir: Path, config: ModelConfig, result: TrainResult, prepared: PreparedSamples
) -> Path:
    """Write the policy checkpoint of ``result`` to ``out_dir`` (the EMA weights when the run kept an EMA),
    with the frozen encoders, statistics and image-feature stand-in the samples were built with."""
    enc = prepared.encoders
    states = {"dit": result.params}
    states |= {
        name: nnx.state(getattr(enc, name), nnx.Param)
        for name in ("vae", "t5", "clip")
        if getattr(enc, name) is not None
    }
    return export_policy(out_dir, config, states, prepared.stats, image_features=enc.image_features)

"""Hand the trained weights to the policy checkpoint writer (``dreamzero_jax.checkpoint``)."""

from __future__ import annotations

from pathlib import Path

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.train.batch import SampleSet
from dreamzero_jax.train.loop import TrainResult


def export_trained(out_dir: Path, config: ModelConfig, result: TrainResult, train_set: SampleSet) -> Path:
    """Write the policy checkpoint of ``result`` to ``out_dir`` (the EMA weights when the run kept an EMA).

    The image-feature stand-in is the one the run trained with.
    """
    from dreamzero_jax.checkpoint import export_policy

    export_policy(out_dir, config, result.params, image_features=train_set.image_features)
    return Path(out_dir)

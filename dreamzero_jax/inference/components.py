"""Build the DreamZero components of a :class:`~dreamzero_jax.configs.ModelConfig`: random weights, or
a checkpoint in the layout of :mod:`dreamzero_jax.checkpoint.policy_dir` (``<checkpoint>/<component>/``).

A config's ``None`` component is left out (the ``bench`` config has no text or image encoder). Restoring
builds each model abstractly and loads the arrays into it: no random initialiser runs. The tokenizer for
real checkpoints is ``<checkpoint>/tokenizer`` (umT5 ``spiece.model``); others use the tiny sentencepiece
model. Configs without a 1280-wide image encoder use a fixed image-feature stand-in: the checkpoint's
``image_features.npy``, or (random weights) one drawn from the seed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jax
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint import build_model, load_model, read_image_features
from dreamzero_jax.checkpoint.policy_dir import needs_image_stand_in
from dreamzero_jax.configs import COMPONENT_NAMES, ModelConfig
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS
from dreamzero_jax.text.tokenizer import get_tokenizer


@dataclass
class Components:
    """The built models (``None`` where the config has no such component), the tokenizer and the fixed
    image features ([1, 257, 1280], or None when a real image encoder computes them)."""

    dit: Any
    vae: Any
    t5: Any
    clip: Any
    tokenizer: Any
    image_features: np.ndarray | None = None


def random_image_features(seed: int) -> np.ndarray:
    """The image-feature stand-in of a random-weight model: standard normal [1, 257, 1280] from ``seed``."""
    return np.asarray(jax.random.normal(jax.random.key(seed), (1, CLIP_TOKENS, CLIP_DIM)))


def _restore(config: ModelConfig, checkpoint: Path, dit_mesh=None) -> dict[str, Any]:
    built = {}
    for name in COMPONENT_NAMES:
        cfg = config.component(name)
        if cfg is None:
            built[name] = None
            continue
        if not (checkpoint / name).is_dir():
            raise FileNotFoundError(
                f"checkpoint {checkpoint} has no {name}/ directory (run dreamzero_jax.convert)"
            )
        built[name] = load_model(name, cfg, checkpoint / name, mesh=dit_mesh if name == "dit" else None)
    return built


def build_components(
    config: ModelConfig, checkpoint: str | Path | None, seed: int, dit_mesh=None
) -> Components:
    """Every component of ``config``: random (``checkpoint`` None, with a warning) or restored.

    ``dit_mesh``: restore the DiT's parameters straight into their shards on this mesh."""
    if checkpoint is None:
        rngs = nnx.Rngs(seed)
        built = {
            n: None if config.component(n) is None else build_model(n, config.component(n), rngs)
            for n in COMPONENT_NAMES
        }
        print(
            f"WARNING: DreamZero config {config.name!r} uses RANDOM weights (no checkpoint)", file=sys.stderr
        )
        features = random_image_features(seed) if needs_image_stand_in(config) else None
    else:
        checkpoint = Path(checkpoint)
        built = _restore(config, checkpoint, dit_mesh)
        features = read_image_features(checkpoint) if needs_image_stand_in(config) else None
        if needs_image_stand_in(config) and features is None:
            # converted real checkpoints of configs whose image encoder cannot feed the DiT (tiny)
            features = random_image_features(seed)
    tokenizer = None
    if built["t5"] is not None:
        tok_dir = Path(checkpoint) / "tokenizer" if checkpoint is not None else None
        source = str(tok_dir) if tok_dir is not None and tok_dir.exists() else "tiny"
        tokenizer = get_tokenizer(source, config.dit.text_len)
    return Components(tokenizer=tokenizer, image_features=features, **built)

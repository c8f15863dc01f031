"""Build the DreamZero components of a :class:`~dreamzero_jax.configs.ModelConfig`: random weights, or
the orbax checkpoint written by ``python -m dreamzero_jax.convert`` (``<checkpoint>/<component>/``).

A config's ``None`` component is left out (the ``bench`` config has no text or image encoder). The
tokenizer for real checkpoints is ``<checkpoint>/tokenizer`` (umT5 ``spiece.model``); random-weight
configs use the tiny sentencepiece model.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flax import nnx

from dreamzero_jax.configs import COMPONENT_NAMES, ModelConfig
from dreamzero_jax.convert.orbax_io import restore_state
from dreamzero_jax.convert.rules import build_model
from dreamzero_jax.text.tokenizer import get_tokenizer


@dataclass
class Components:
    """The built models (``None`` where the config has no such component) and the tokenizer."""

    dit: Any
    vae: Any
    t5: Any
    clip: Any
    tokenizer: Any


def build_components(config: ModelConfig, checkpoint: str | Path | None, seed: int) -> Components:
    """Every component of ``config``: random (``checkpoint`` None, with a warning) or restored from orbax."""
    rngs = nnx.Rngs(seed)
    built = {name: None for name in COMPONENT_NAMES}
    for name in COMPONENT_NAMES:
        cfg = config.component(name)
        if cfg is None:
            continue
        model = build_model(name, cfg, rngs)
        if checkpoint is not None:
            path = Path(checkpoint) / name
            if not path.is_dir():
                raise FileNotFoundError(
                    f"checkpoint {checkpoint} has no {name}/ directory (run dreamzero_jax.convert)"
                )
            nnx.update(model, restore_state(path, nnx.state(model, nnx.Param)))
        built[name] = model
    if checkpoint is None:
        print(
            f"WARNING: DreamZero config {config.name!r} uses RANDOM weights (no checkpoint)", file=sys.stderr
        )
    tokenizer = None
    if built["t5"] is not None:
        tok_dir = Path(checkpoint) / "tokenizer" if checkpoint is not None else None
        source = str(tok_dir) if tok_dir is not None and tok_dir.exists() else "tiny"
        tokenizer = get_tokenizer(source, config.dit.text_len)
    return Components(tokenizer=tokenizer, **built)

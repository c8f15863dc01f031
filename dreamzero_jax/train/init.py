"""Starting weights: random (seeded) or a converted checkpoint's DiT (``CKPT/dit/``) for fine-tuning."""

from __future__ import annotations

from pathlib import Path

import jax
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint.orbax_io import restore_state
from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.models.dit import CausalWanDiT


def _shapes(pure: dict, prefix: str = "") -> dict[str, tuple[int, ...]]:
    out = {}
    for k, v in pure.items():
        name = f"{prefix}{k}"
        out.update(_shapes(v, name + ".") if isinstance(v, dict) else {name: tuple(np.shape(v))})
    return out


def build_dit(config: ModelConfig, seed: int, init: Path | None = None) -> CausalWanDiT:
    """The DiT of ``config``: random from ``seed``, or with the weights of checkpoint ``init``.

    Raises ValueError (one line) when ``init`` is not a converted checkpoint of this config.
    """
    model = CausalWanDiT(config.dit, rngs=nnx.Rngs(seed))
    if init is None:
        return model
    directory = Path(init) / "dit"
    if not directory.is_dir():
        raise ValueError(f"--init {init}: no dit/ directory (expected a dreamzero_jax.convert output)")
    try:
        stored = restore_state(directory)
    except Exception as e:  # orbax raises many types for a non-checkpoint directory
        raise ValueError(f"--init {init}: cannot read dit/ ({type(e).__name__})") from None
    expected = _shapes(nnx.to_pure_dict(nnx.state(model, nnx.Param)))
    got = _shapes(stored)
    if got != expected:
        diff = sorted(set(got.items()) ^ set(expected.items()))[0][0]
        raise ValueError(
            f"--init {init}: its DiT does not match config {config.name!r} (first difference: {diff})"
        )
    params = restore_state(directory, nnx.state(model, nnx.Param))
    nnx.update(model, jax.tree.map(lambda x: np.asarray(x, np.float32), params))
    return model

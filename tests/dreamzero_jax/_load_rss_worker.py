"""Subprocess for the abstract-load memory test: write, then load, a ~366 MB float32 DiT checkpoint.

``python _load_rss_worker.py write DIR`` saves numpy-drawn weights of ``CONFIG`` (no jax initialiser);
``python _load_rss_worker.py load DIR`` restores them with ``load_model`` while random draws on concrete
keys raise, and prints JSON: RSS before the load, peak RSS after it, the checkpoint's bytes and a checksum.
``concrete`` loads the old way (random build, then restore) to show what the test guards against.
"""

from __future__ import annotations

import json
import resource
import sys

import jax
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint.models import abstract_model, build_model, load_model
from dreamzero_jax.checkpoint.orbax_io import restore_state, save_state
from dreamzero_jax.configs.dit import DiTConfig

# dim 1024, 4 layers: ~91M parameters, ~366 MB in float32 -- large against the interpreter's own RSS
CONFIG = DiTConfig(
    frame_seqlen=64, text_len=32, dim=1024, ffn_dim=4096, freq_dim=256, text_dim=256, num_heads=8,
    num_layers=4, action_dim=32, max_state_dim=64, hidden_size=256, num_action_per_block=32,
)  # fmt: skip


def _max_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def write(directory: str) -> None:
    state = nnx.state(abstract_model("dit", CONFIG), nnx.Param)
    rng = np.random.default_rng(0)  # incompressible, so the files are as large as the arrays
    filled = jax.tree.map(lambda x: rng.standard_normal(x.shape, np.float32).astype(x.dtype), state)
    save_state(directory, filled)


def load(directory: str, concrete: bool) -> None:
    from tests.dreamzero_jax._random_guard import forbid_concrete_random_draws

    jax.devices()  # start the backend before the baseline
    before = _max_rss_bytes()
    if concrete:
        model = build_model("dit", CONFIG, nnx.Rngs(0))
        params = nnx.state(model, nnx.Param)
        nnx.update(model, restore_state(directory, params))
    else:
        with forbid_concrete_random_draws():
            model = load_model("dit", CONFIG, directory)
    params = jax.tree.leaves(nnx.state(model, nnx.Param))
    jax.block_until_ready(params)
    print(
        json.dumps(
            {
                "before": before,
                "peak": _max_rss_bytes(),
                "bytes": sum(p.nbytes for p in params),
                "checksum": float(sum(float(p.sum()) for p in params)),
            }
        )
    )


if __name__ == "__main__":
    mode, directory = sys.argv[1], sys.argv[2]
    write(directory) if mode == "write" else load(directory, concrete=mode == "concrete")

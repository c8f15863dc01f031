"""Run in a subprocess with 8 forced host devices: ``load_model(..., mesh=)`` reads each parameter straight
into its shards. ``python _sharded_load_worker.py DIR``; exits non-zero on a mismatch, prints "ok"."""

from __future__ import annotations

import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint import load_model, save_state
from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.sharding import MODEL, make_mesh, spec_for


def main(directory: str) -> None:
    assert jax.device_count() == 8, jax.devices()
    cfg = DiTConfig.tiny()
    rng = np.random.default_rng(1)
    abstract = nnx.state(abstract_model("dit", cfg), nnx.Param)
    saved = jax.tree.map(lambda x: rng.standard_normal(x.shape).astype(np.float32), abstract)
    save_state(directory, saved, dtype=jnp.bfloat16)  # as the converter's --dtype bfloat16 writes
    mesh = make_mesh(data=1, model=8)
    model = load_model("dit", cfg, directory, mesh=mesh)
    loaded = nnx.to_flat_state(nnx.state(model, nnx.Param))
    want = dict(nnx.to_flat_state(saved))
    for path, var in loaded:
        name, x = ".".join(map(str, path)), var.get_value()
        assert x.dtype == jnp.bfloat16, (name, x.dtype)  # the stored dtype, no float32 detour
        assert x.sharding.spec == spec_for(name, x.shape, mesh), (name, x.sharding)
        np.testing.assert_array_equal(np.asarray(x), want[path].get_value().astype(jnp.bfloat16))
    q = model.blocks[0].self_attn.q.kernel.get_value()
    assert MODEL in tuple(q.sharding.spec)
    assert {s.data.shape for s in q.addressable_shards} == {(64, 8)}  # each device holds 1/8 of it
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])

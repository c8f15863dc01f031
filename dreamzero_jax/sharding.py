"""Device mesh and name-based partitioning of the DiT's parameters over a ('data', 'model') mesh.

Megatron-style tensor parallelism by parameter name: q/k/v (and the CLIP-image k_img/v_img) and the
FFN's first layer are split by output columns (heads / hidden units) over ``'model'``; the attention
output projection and the FFN's second layer by input rows, so each layer needs one reduction. Norms,
modulation tables, embeddings and the small category-specific action/state weights are replicated.
Batches go over ``'data'``. A dimension that the mesh axis does not divide is left unsplit.

    mesh = make_mesh(data=2, model=4)
    state = shard_state(nnx.state(model), mesh)          # or: shard_model(model, mesh) in place
"""

from __future__ import annotations

import re

import jax
import numpy as np
from flax import nnx
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA, MODEL = "data", "model"

_ATTN_IN = r"blocks\.\d+\.(self_attn|cross_attn)\.(q|k|v|k_img|v_img)"
_ATTN_OUT = r"blocks\.\d+\.(self_attn|cross_attn)\.o"

# (regex full-matched against the dot-joined NNX path, spec); first match wins, default replicated.
DIT_PARTITION_RULES: tuple[tuple[str, P], ...] = (
    (_ATTN_IN + r"\.kernel", P(None, MODEL)),
    (_ATTN_IN + r"\.bias", P(MODEL)),
    (_ATTN_OUT + r"\.kernel", P(MODEL, None)),
    (r"blocks\.\d+\.ffn\.fc1\.kernel", P(None, MODEL)),
    (r"blocks\.\d+\.ffn\.fc1\.bias", P(MODEL)),
    (r"blocks\.\d+\.ffn\.fc2\.kernel", P(MODEL, None)),
)


def make_mesh(data: int = 1, model: int | None = None, devices=None) -> Mesh:
    """A ('data', 'model') mesh over ``devices`` (default: all); ``model`` defaults to the rest."""
    devices = np.asarray(jax.devices() if devices is None else devices)
    model = devices.size // data if model is None else model
    if data * model != devices.size:
        raise ValueError(f"mesh {data}x{model} does not match {devices.size} devices")
    return Mesh(devices.reshape(data, model), (DATA, MODEL))


def parse_mesh(text: str) -> dict[str, int]:
    """``"data:1,model:8"`` (or ``model=8``; a missing axis is 1) -> ``{"data": 1, "model": 8}``.

    ValueError (one line) for unknown axes, repeated axes or sizes below 1."""
    sizes = {DATA: 1, MODEL: 1}
    seen: set[str] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, size = part.replace("=", ":").partition(":")
        name = name.strip()
        if not sep or name not in sizes or name in seen or not size.strip().isdigit() or int(size) < 1:
            raise ValueError(
                f"mesh {text!r}: write axis:size pairs over {DATA!r}, {MODEL!r}, e.g. data:1,model:8"
            )
        seen.add(name)
        sizes[name] = int(size)
    if not seen:
        raise ValueError(f"mesh {text!r} names no axis; e.g. data:1,model:8")
    return sizes


def mesh_from_spec(text: str, devices=None) -> Mesh:
    """The ('data', 'model') mesh a ``parse_mesh`` spec describes, over ``devices`` (default: all)."""
    sizes = parse_mesh(text)
    return make_mesh(sizes[DATA], sizes[MODEL], devices)


def _path_str(path) -> str:
    keys = [getattr(k, "key", getattr(k, "idx", None)) for k in path]
    return ".".join(str(k) for k in keys if k is not None)


def spec_for(path: str, shape: tuple[int, ...], mesh: Mesh, rules=DIT_PARTITION_RULES) -> P:
    """PartitionSpec of the parameter at ``path`` (dot-joined NNX path) with ``shape`` on ``mesh``."""
    for pattern, spec in rules:
        if re.fullmatch(pattern, path):
            if len(spec) != len(shape):
                return P()
            # leave a dimension whole when the mesh axis does not divide it
            return P(
                *(ax if ax is None or shape[i] % mesh.shape[ax] == 0 else None for i, ax in enumerate(spec))
            )
    return P()


def partition_specs(state: nnx.State, mesh: Mesh, rules=DIT_PARTITION_RULES):
    """Pytree like ``state`` with a PartitionSpec per array."""
    return jax.tree_util.tree_map_with_path(
        lambda p, x: spec_for(_path_str(p), tuple(x.shape), mesh, rules), state
    )


def shard_state(state: nnx.State, mesh: Mesh, rules=DIT_PARTITION_RULES) -> nnx.State:
    """``state`` with every array placed on ``mesh`` by ``rules`` (a new state; the input is untouched)."""
    return jax.tree_util.tree_map_with_path(
        lambda p, x: jax.device_put(
            x, NamedSharding(mesh, spec_for(_path_str(p), tuple(x.shape), mesh, rules))
        ),
        state,
    )


def sharded_abstract(state: nnx.State, mesh: Mesh, rules=DIT_PARTITION_RULES) -> nnx.State:
    """``state`` (arrays or ShapeDtypeStructs) as ShapeDtypeStructs carrying their NamedSharding on ``mesh``:
    a restore target that places every shard straight on its device."""
    return jax.tree_util.tree_map_with_path(
        lambda p, x: jax.ShapeDtypeStruct(
            x.shape,
            x.dtype,
            sharding=NamedSharding(mesh, spec_for(_path_str(p), tuple(x.shape), mesh, rules)),
        ),
        state,
    )


def shard_model(model: nnx.Module, mesh: Mesh, rules=DIT_PARTITION_RULES) -> nnx.Module:
    """Place ``model``'s parameters on ``mesh`` in place (and return it)."""
    nnx.update(model, shard_state(nnx.state(model), mesh, rules))
    return model


def batch_sharding(mesh: Mesh, ndim: int) -> NamedSharding:
    """Sharding of an input with a leading batch axis over ``'data'`` (rest replicated)."""
    return NamedSharding(mesh, P(DATA, *([None] * (ndim - 1))))

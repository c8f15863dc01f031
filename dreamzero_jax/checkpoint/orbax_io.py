"""Save and restore NNX states with orbax (one directory per component).

States are stored as orbax pure-dict pytrees (``nnx.to_pure_dict``), so a restore needs no graph
definition; :func:`restore_state` can put them back into an abstract ``nnx.State`` of the model.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import orbax.checkpoint as ocp
from flax import nnx

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}


def cast_state(state: nnx.State, dtype) -> nnx.State:
    """A copy of ``state`` with every floating-point array cast to ``dtype`` (integers untouched)."""
    dtype = jnp.dtype(dtype)

    def cast(x):
        return x.astype(dtype) if jnp.issubdtype(x.dtype, jnp.floating) else x

    return jax.tree.map(cast, state)


def save_state(directory: str | Path, state: nnx.State, *, dtype=None, metadata: dict | None = None) -> Path:
    """Write ``state`` (optionally cast to ``dtype``) to the orbax directory ``directory`` (overwrites)."""
    directory = Path(directory).absolute()  # orbax requires absolute paths
    if dtype is not None:
        state = cast_state(state, dtype)
    with ocp.StandardCheckpointer() as ckptr:
        ckptr.save(directory, nnx.to_pure_dict(state), force=True, custom_metadata=metadata or {})
    return directory


def _key_path(path) -> tuple[str, ...]:
    return tuple(str(getattr(k, "key", getattr(k, "idx", k))) for k in path)


def _placed_target(abstract_state: nnx.State, stored) -> dict:
    """The stored tree (orbax keys are strings: list indices too) as ShapeDtypeStructs in the stored
    dtype with the sharding ``abstract_state`` gives the same path."""
    shardings = {
        _key_path(p): x.sharding
        for p, x in jax.tree_util.tree_leaves_with_path(nnx.to_pure_dict(abstract_state))
    }
    return jax.tree_util.tree_map_with_path(
        lambda p, m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=shardings[_key_path(p)]), stored
    )


def restore_state(directory: str | Path, abstract_state: nnx.State | None = None, *, placed: bool = False):
    """Read an orbax directory written by :func:`save_state`.

    With ``abstract_state`` (e.g. ``nnx.state(nnx.eval_shape(...), nnx.Param)``) the arrays are put into
    a copy of it and an ``nnx.State`` is returned; without it, the nested pure dict of arrays.
    ``placed``: ``abstract_state``'s leaves carry shardings (``sharding.sharded_abstract``) and each array
    is read straight into them (every device reads its own shard; nothing lands whole on one device),
    in the dtype it was stored in.
    """
    directory = Path(directory).absolute()
    with ocp.StandardCheckpointer() as ckptr:
        if placed:
            meta = ckptr.metadata(directory)  # StepMetadata when saved with custom metadata
            stored = getattr(meta, "item_metadata", meta).tree
            pure = ckptr.restore(directory, _placed_target(abstract_state, stored))
        else:
            pure = ckptr.restore(directory)
    if abstract_state is None:
        return pure
    state = jax.tree.map(lambda x: x, abstract_state)
    nnx.replace_by_pure_dict(state, pure)
    return state

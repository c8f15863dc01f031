"""Component name -> model class, and the three ways to get a component: random, abstract, restored.

:func:`load_model` builds the module with ``nnx.eval_shape`` (no parameter initialiser runs, nothing is
allocated) and restores the orbax state straight into it, so loading costs about the checkpoint's size.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import jax
from flax import nnx
from jax._src.interpreters import partial_eval as pe
from jax.sharding import Mesh

from dreamzero_jax.checkpoint.orbax_io import restore_state
from dreamzero_jax.models.clip import CLIPVision
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.models.t5 import UMT5Encoder
from dreamzero_jax.models.vae import WanVAE
from dreamzero_jax.sharding import sharded_abstract

MODEL_CLASSES: dict[str, type[nnx.Module]] = {
    "dit": CausalWanDiT,
    "vae": WanVAE,
    "t5": UMT5Encoder,
    "clip": CLIPVision,
}


def build_model(name: str, config, rngs: nnx.Rngs) -> nnx.Module:
    """Component ``name`` built from ``config`` with random weights (call inside ``nnx.eval_shape`` for an abstract one)."""
    if name not in MODEL_CLASSES:
        raise KeyError(f"unknown component {name!r}; valid: {', '.join(MODEL_CLASSES)}")
    return MODEL_CLASSES[name](config, rngs=rngs)


@contextlib.contextmanager
def _cheap_tracer_errors() -> Iterator[None]:
    # Every RNG draw under eval_shape makes nnx probe `tracer.sharding`, whose AttributeError message
    # walks the whole jaxpr built so far (quadratic: 86 s instead of 12 s for the 14B DiT). The message
    # is discarded by getattr's default, so building it is pure waste; restored on exit.
    original = getattr(pe.DynamicJaxprTracer, "_origin_msg", None)
    if original is None:  # a jax without this private hook: nothing to speed up
        yield
        return
    pe.DynamicJaxprTracer._origin_msg = lambda self: ""
    try:
        yield
    finally:
        pe.DynamicJaxprTracer._origin_msg = original


def abstract_model(name: str, config, seed: int = 0) -> nnx.Module:
    """Component ``name`` built from ``config`` with ShapeDtypeStruct leaves (no memory used)."""
    with _cheap_tracer_errors():
        return nnx.eval_shape(lambda: build_model(name, config, nnx.Rngs(seed)))


def load_model(name: str, config, directory: str | Path, mesh: Mesh | None = None) -> nnx.Module:
    """Component ``name`` with its parameters restored from the orbax ``directory``; no initialiser runs.

    With ``mesh`` every parameter is read straight into its shards on the mesh (partition rules of
    :mod:`dreamzero_jax.sharding`), in its stored dtype, so no device ever holds the whole model.
    Non-parameter variables (if a module has any) are not in the checkpoint; they must not exist, so a
    module that grows one fails loudly here instead of running with ShapeDtypeStruct leaves.
    """
    graphdef, params, rest = nnx.split(abstract_model(name, config), nnx.Param, ...)
    leftover = jax.tree.leaves(rest)
    if leftover:
        raise ValueError(
            f"{name}: {len(leftover)} non-parameter variables cannot be restored from a checkpoint"
        )
    if mesh is None:
        return nnx.merge(graphdef, restore_state(directory, params))
    return nnx.merge(graphdef, restore_state(directory, sharded_abstract(params, mesh), placed=True))

"""Build a component abstractly (``nnx.eval_shape``): shapes and dtypes only, nothing allocated."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from flax import nnx
from jax._src.interpreters import partial_eval as pe

from dreamzero_jax.convert.rules import build_model


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


def abstract_model(component: str, config, seed: int = 0) -> nnx.Module:
    """Component ``component`` built from ``config`` with ShapeDtypeStruct leaves (no memory used)."""
    with _cheap_tracer_errors():
        return nnx.eval_shape(lambda: build_model(component, config, nnx.Rngs(seed)))

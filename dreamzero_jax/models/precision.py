"""Inference precision of the DiT: float32 (the reference) or bfloat16 as upstream runs it.

Upstream runs the Wan DiT with bf16 weights under ``autocast(bfloat16)``, and forces float32 where it
matters: the time embedding and its 6-way projection, every modulation/gating and residual add, the
output head (``autocast(float32)`` blocks) and the norms' statistics; the scheduler works on float32
latents. :func:`set_dit_precision` mirrors that on an NNX model in place:

* every ``nnx.Linear`` except those in :data:`FLOAT32_MODULES` stores its kernel/bias in bfloat16 and
  computes in bfloat16 (``Linear.dtype``: inputs are cast like autocast does), so attention, the FFN,
  the text and image projections are bf16 matmuls and their outputs bf16;
* everything else (norm weights, modulation tables, time embedding + projection, head, the 3-D patch
  embedding and the small category-specific action/state MLPs) stays float32; a bf16 branch output
  times a float32 gate promotes to float32, so the residual stream stays float32 as upstream's.

The patch embedding (a 36-channel conv) and the action modules are bf16 upstream too; keeping them
float32 costs < 0.1 % of the weights and keeps the action path at reference precision.
"""

from __future__ import annotations

import jax.numpy as jnp
from flax import nnx

PRECISIONS = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
# top-level DiT submodules whose Linears stay float32 (upstream: autocast(float32) blocks)
FLOAT32_MODULES = ("time_embedding", "time_projection", "head")


def _linears(model: nnx.Module):
    for path, node in nnx.iter_graph(model):
        if isinstance(node, nnx.Linear):
            yield tuple(str(p) for p in path), node


def bf16_linears(model: nnx.Module) -> list[str]:
    """Dot-joined paths of the Linears that store and compute in bfloat16 under ``bfloat16`` precision
    (works on abstract models too: the planner counts bytes with it)."""
    return [".".join(path) for path, _ in _linears(model) if path[0] not in FLOAT32_MODULES]


def _cast(var: nnx.Param, dtype) -> None:
    value = var.get_value()
    if jnp.issubdtype(value.dtype, jnp.floating) and value.dtype != dtype:
        var.set_value(value.astype(dtype))  # each leaf once, straight to its dtype (keeps its sharding)


def set_dit_precision(model: nnx.Module, precision: str) -> nnx.Module:
    """Set the DiT ``model``'s parameter and compute dtypes for ``precision`` (in place; returned).

    ``float32`` undoes a previous ``bfloat16`` (and upcasts a bf16-stored checkpoint); a bf16-stored
    checkpoint loaded for ``bfloat16`` keeps its bf16 matmul weights without a round trip."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    chosen = set(bf16_linears(model)) if precision == "bfloat16" else set()
    in_bf16: set[int] = set()
    for path, linear in _linears(model):
        bf16 = ".".join(path) in chosen
        linear.dtype = jnp.bfloat16 if bf16 else None
        if bf16:
            for _, var in nnx.iter_graph(linear):
                if isinstance(var, nnx.Param):
                    _cast(var, jnp.bfloat16)
                    in_bf16.add(id(var))
    for _, var in nnx.iter_graph(model):
        if isinstance(var, nnx.Param) and id(var) not in in_bf16:
            _cast(var, jnp.float32)
    return model


def kv_cache_dtype(precision: str):
    """The KV cache dtype that goes with ``precision`` (upstream caches bf16 keys/values)."""
    return PRECISIONS[precision]

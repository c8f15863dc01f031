"""Jitted, pure entry points of :class:`~dreamzero_jax.models.dit.CausalWanDiT` over split NNX state.

``make_forward_train(model)`` / ``make_forward_cached(model)`` split the model once
(``nnx.split``) and return functions whose first argument is the parameter state, so the same compiled
function serves any weights of the same shapes (e.g. sharded ones) and nothing is jitted deeper down:

    state, train = make_forward_train(model)
    video_flow, action_flow = train(state, x, y, timestep, context, clip_feature, clean_x, actions)

    state, step = make_forward_cached(model)
    video_flow, action_flow, cache = step(state, x, y, timestep, context, clip_feature, cache,
                                          jnp.int32(start_frame), actions_or_None)

``start_frame`` is traced (pass an int32 array) so chunks at different positions reuse one compilation;
a call compiles once per (frame count, with/without actions) combination.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
from flax import nnx

from dreamzero_jax.models.dit import CausalWanDiT


def make_forward_train(model: CausalWanDiT) -> tuple[nnx.State, Callable]:
    """(state, jitted ``f(state, x, y, timestep, context, clip_feature, clean_x, actions)``)."""
    graphdef, state = nnx.split(model)

    @jax.jit
    def forward_train(state, x, y, timestep, context, clip_feature, clean_x, actions):
        return nnx.merge(graphdef, state).forward_train(
            x, y, timestep, context, clip_feature, clean_x, actions
        )

    return state, forward_train


def make_forward_cached(model: CausalWanDiT) -> tuple[nnx.State, Callable]:
    """(state, jitted ``f(state, x, y, timestep, context, clip_feature, cache, start_frame, actions)``)."""
    graphdef, state = nnx.split(model)

    @jax.jit
    def forward_cached(state, x, y, timestep, context, clip_feature, cache, start_frame, actions=None):
        model = nnx.merge(graphdef, state)
        return model.forward_cached(x, y, timestep, context, clip_feature, cache, start_frame, actions)

    return state, forward_cached

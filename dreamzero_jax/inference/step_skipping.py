"""DiT step caching inside the jitted denoising loop: which of the UniPC steps run the DiT.

Upstream (``WANPolicyHead.should_run_model``) either follows a fixed step mask chosen by
``NUM_DIT_STEPS`` or, with ``DYNAMIC_CACHE_SCHEDULE``, decides from the cosine similarity of the last two
(CFG-mixed) video velocity predictions. A skipped step reuses the last prediction for both video and
actions. Here each schedule is a pure function ``decide(state, step, v_last, v_prev) -> (run, state)``
over a small :class:`SkipState` carried through ``lax.scan``, so one compiled loop serves every chunk.

``SCHEDULES`` maps the config names ``off`` / ``static`` / ``dynamic`` to schedule builders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

# Upstream's hard-coded masks for 16 steps, keyed by NUM_DIT_STEPS (any other value runs every step).
_T, _F = True, False
UPSTREAM_MASKS: dict[int, tuple[bool, ...]] = {
    5: (_T, _T, _T, _F, _F, _F, _F, _T, _F, _F, _F, _F, _T, _F, _F, _F),
    6: (_T, _T, _F, _F, _F, _T, _F, _F, _F, _F, _T, _F, _F, _F, _T, _T),
    7: (_T, _T, _T, _F, _F, _F, _T, _F, _F, _F, _T, _F, _F, _F, _T, _T),
    8: (_T, _T, _T, _F, _F, _F, _T, _F, _F, _F, _T, _F, _F, _T, _T, _T),
}
# Dynamic schedule: (similarity threshold, steps to skip), checked in order, as upstream.
DYNAMIC_RULES: tuple[tuple[float, int], ...] = ((0.95, 4), (0.93, 2))


class SkipState(NamedTuple):
    """``predictions``: DiT passes so far (capped at 2, upstream's history length); ``countdown``: skips left + 1."""

    predictions: jax.Array
    countdown: jax.Array

    @classmethod
    def initial(cls) -> SkipState:
        return cls(jnp.int32(0), jnp.int32(0))

    def after_run(self, run: jax.Array) -> SkipState:
        return self._replace(predictions=jnp.minimum(self.predictions + run.astype(jnp.int32), 2))


Decide = Callable[[SkipState, jax.Array, jax.Array, jax.Array], tuple[jax.Array, SkipState]]


def static_mask(num_steps: int, num_dit_steps: int) -> np.ndarray:
    """Upstream's step mask: its table for 16 steps and 5..8 DiT steps, otherwise every step runs."""
    if num_steps == 16 and num_dit_steps in UPSTREAM_MASKS:
        return np.array(UPSTREAM_MASKS[num_dit_steps])
    return np.ones(num_steps, bool)


def cosine_similarity(a: jax.Array, b: jax.Array) -> jax.Array:
    """Per-sample cosine similarity of [B, ...] arrays, averaged over the batch (torch eps 1e-8)."""
    a = a.reshape(a.shape[0], -1).astype(jnp.float32)
    b = b.reshape(b.shape[0], -1).astype(jnp.float32)
    na = jnp.maximum(jnp.linalg.norm(a, axis=1), 1e-8)
    nb = jnp.maximum(jnp.linalg.norm(b, axis=1), 1e-8)
    return jnp.mean(jnp.sum(a * b, axis=1) / (na * nb))


def mask_schedule(mask: np.ndarray) -> Decide:
    """Run step ``i`` iff ``mask[i]`` (``off`` is the all-true mask)."""
    table = jnp.asarray(mask)

    def decide(state, step, v_last, v_prev):
        return table[step], state

    return decide


def dynamic_schedule() -> Decide:
    """Upstream's dynamic schedule: first two passes always; then skip 4 steps when the last two video
    predictions have similarity > 0.95, 2 steps when > 0.93; the step after a skip run always runs."""

    def decide(state, step, v_last, v_prev):
        sim = cosine_similarity(v_last, v_prev)
        skip_for = jnp.int32(0)
        for threshold, steps in reversed(DYNAMIC_RULES):  # first matching rule wins, as upstream's loop
            skip_for = jnp.where(sim > threshold, jnp.int32(steps), skip_for)
        warming = state.predictions < 2
        counting = state.countdown > 0
        run = warming | (state.countdown == 1) | (~counting & (skip_for == 0))
        countdown = jnp.where(
            warming, state.countdown, jnp.where(counting, state.countdown - 1, skip_for)
        ).astype(jnp.int32)
        return run, state._replace(countdown=countdown)

    return decide


SCHEDULES: dict[str, Callable[[int, int], Decide]] = {
    "off": lambda num_steps, num_dit_steps: mask_schedule(np.ones(num_steps, bool)),
    "static": lambda num_steps, num_dit_steps: mask_schedule(static_mask(num_steps, num_dit_steps)),
    "dynamic": lambda num_steps, num_dit_steps: dynamic_schedule(),
}


def get_schedule(name: str, num_steps: int, num_dit_steps: int) -> Decide:
    """The named schedule's ``decide`` function; ValueError naming the valid schedules otherwise."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown DiT cache schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](num_steps, num_dit_steps)

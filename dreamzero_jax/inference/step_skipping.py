"""DiT step caching inside the jitted denoising loop: which of the UniPC steps run the DiT.

Upstream (``WANPolicyHead.should_run_model``) either follows a fixed step mask chosen by
``NUM_DIT_STEPS`` or, with ``DYNAMIC_CACHE_SCHEDULE``, decides from the cosine similarity of the last two
(CFG-mixed) video velocity predictions. A skipped step reuses the last prediction for both video and
actions. Here each schedule is a pure function ``skip_after(step, passes, v_last, v_prev)`` giving the number
of steps to skip after a DiT pass, so the sampler loops over DiT passes (``lax.while_loop``) and runs the
skipped scheduler steps in between; no ``lax.cond`` is needed (on CPU a conditional around the DiT call
made every step several times slower than the call itself).

``SCHEDULES`` maps the config names ``off`` / ``static`` / ``dynamic`` to schedule builders.
"""

from __future__ import annotations

from collections.abc import Callable

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


# skip_after(step, passes, v_last, v_prev) -> steps to skip after the DiT pass at ``step`` (int32)
SkipAfter = Callable[[jax.Array, jax.Array, jax.Array, jax.Array], jax.Array]


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


def mask_schedule(mask: np.ndarray) -> SkipAfter:
    """Run step ``i`` iff ``mask[i]``: after a pass at ``i`` skip the run of False entries that follows."""
    mask = np.asarray(mask, bool)
    if not mask[0]:
        raise ValueError("the first denoising step must run the DiT")
    skips = np.zeros(len(mask), np.int32)
    for i in range(len(mask) - 2, -1, -1):
        skips[i] = 0 if mask[i + 1] else skips[i + 1] + 1
    table = jnp.asarray(skips)

    def skip_after(step, passes, v_last, v_prev):
        return table[step]

    return skip_after


def dynamic_schedule() -> SkipAfter:
    """Upstream's dynamic schedule: the first two passes run back to back; after each later pass skip 4
    steps when the last two video predictions have cosine similarity > 0.95, 2 steps when > 0.93.

    Upstream decides step by step with a countdown whose last step runs unconditionally; that is the same
    as deciding the whole skip right after each pass, which is what this does.
    """

    def skip_after(step, passes, v_last, v_prev):
        sim = cosine_similarity(v_last, v_prev)
        skip = jnp.int32(0)
        for threshold, steps in reversed(DYNAMIC_RULES):  # first matching rule wins, as upstream's loop
            skip = jnp.where(sim > threshold, jnp.int32(steps), skip)
        return jnp.where(passes < 2, jnp.int32(0), skip)

    return skip_after


SCHEDULES: dict[str, Callable[[int, int], SkipAfter]] = {
    "off": lambda num_steps, num_dit_steps: mask_schedule(np.ones(num_steps, bool)),
    "static": lambda num_steps, num_dit_steps: mask_schedule(static_mask(num_steps, num_dit_steps)),
    "dynamic": lambda num_steps, num_dit_steps: dynamic_schedule(),
}


def get_schedule(name: str, num_steps: int, num_dit_steps: int) -> SkipAfter:
    """The named schedule's ``skip_after`` function; ValueError naming the valid schedules otherwise."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown DiT cache schedule {name!r}; choose one of {sorted(SCHEDULES)}")
    return SCHEDULES[name](num_steps, num_dit_steps)

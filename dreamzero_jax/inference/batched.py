"""Many sessions per jitted chunk step: a slot pool of per-session state and the batched fill / denoise.

:class:`BatchedSampler` runs the single-session :class:`~.sampler.ChunkSampler` step functions under
``jax.vmap`` over a leading *session* axis. Every session keeps its own K/V window, history, conditioning
(prompt embedding, CLIP tokens, ``ys``) and its own ``start_frame``; vmap gives each row exactly the
arithmetic it has alone, so a session's answers do not depend on which sessions shared its call.

State lives in a :class:`SlotPool`: ``capacity`` slots, each one session's state, stacked. A call names the
slots it serves (``slots`` [P] int32) and passes per-row inputs with the same leading P; the jitted step
gathers those slots, runs, and scatters the new state back (``pool`` is donated, so this is in place where
the backend supports donation). P is padded up to a bucket of :data:`BUCKETS` (1, 2, 4, 8, then doubling):
padded rows point at slot ``capacity`` (out of range), which reads as zeros and is dropped on write, so
joins and leaves only ever see a bounded set of shapes. With CFG each session is two DiT rows, so buckets
1, 2, 4, 8 run the DiT at batch 2, 4, 8, 16.

Three jitted entry points (``compiles`` names): ``start`` (reset: writes the conditioning and an empty
cache, then the 1-frame cache fill at frame 0), ``fill`` (the later ``num_frame_per_block``-frame fills)
and ``denoise``. Each compiles once per bucket that is used.

DiT step caching: under vmap the ``static`` schedule stays one plain loop (its step counter does not
depend on the data). The ``dynamic`` schedule decides per session from that session's own predictions;
vmap turns the pass loop into a masked one -- a session that skips steps is held (its carry frozen) while
others run a DiT pass -- so results still equal each session alone, but every call runs as many DiT passes
as its busiest session.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from dreamzero_jax.inference.compile_counter import CompileCounter, counted_jit
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkOutputs, ChunkSampler, Conditioning, Session

BUCKETS = (1, 2, 4, 8)


def bucket(n: int) -> int:
    """The padded batch size for ``n`` requests: the smallest of :data:`BUCKETS` >= n, then powers of two."""
    if n < 1:
        raise ValueError(f"a batch needs at least one request, got {n}")
    for size in BUCKETS:
        if n <= size:
            return size
    return 1 << (n - 1).bit_length()


class SlotPool(NamedTuple):
    """Per-slot state, stacked on a leading slot axis: each slot's :class:`Session` and :class:`Conditioning`."""

    session: Session
    cond: Conditioning

    @property
    def capacity(self) -> int:
        return int(self.session.history.shape[0])


def _gather(tree, slots):
    return jax.tree.map(lambda a: a.at[slots].get(mode="fill", fill_value=0), tree)


def _scatter(tree, slots, new):
    return jax.tree.map(lambda a, b: a.at[slots].set(b.astype(a.dtype), mode="drop"), tree, new)


def pad_rows(rows: list, size: int) -> jax.Array:
    """Stack per-session arrays [1, ...] (or [...]) on a new leading axis, zero-padded to ``size`` rows."""
    stacked = jnp.stack([jnp.asarray(r) for r in rows])
    return jnp.pad(stacked, [(0, size - len(rows))] + [(0, 0)] * (stacked.ndim - 1))


def pad_slots(slots: list[int], size: int, capacity: int) -> jax.Array:
    """Slot indices padded with ``capacity`` (out of range: reads zeros, writes are dropped)."""
    return jnp.asarray(list(slots) + [capacity] * (size - len(slots)), jnp.int32)


class BatchedSampler:
    """Batched ``start`` / ``fill`` / ``denoise`` over a :class:`SlotPool`; see the module docstring."""

    def __init__(self, sampler: ChunkSampler, compiles: CompileCounter | None = None):
        self.sampler = sampler
        self.config, self.dit_config = sampler.config, sampler.dit_config
        self.compiles = compiles if compiles is not None else sampler.compiles
        self.start = counted_jit(self._start, self.compiles, "start", donate_argnums=(1,))
        self.fill = counted_jit(self._fill, self.compiles, "fill", donate_argnums=(1,))
        self.denoise = counted_jit(self._denoise, self.compiles, "denoise")

    def new_pool(
        self, capacity: int, latent_hw: tuple[int, int], y_frames: int, kv_dtype=jnp.float32
    ) -> SlotPool:
        """``capacity`` empty slots for latents of ``latent_hw`` and ``ys`` of ``y_frames`` frames, with K/V
        caches in ``kv_dtype`` (bfloat16 under bf16 inference)."""
        one = self.sampler.new_session(latent_hw, kv_dtype)
        dit = self.dit_config
        cond = Conditioning(
            jnp.zeros((self.config.branches, dit.text_len, dit.text_dim), jnp.float32),
            jnp.zeros((1, 257, 1280), jnp.float32),
            jnp.zeros((1, y_frames, *latent_hw, 20), jnp.float32),
        )
        return jax.tree.map(lambda a: jnp.zeros((capacity, *a.shape), a.dtype), SlotPool(one, cond))

    def grow(self, pool: SlotPool, capacity: int) -> SlotPool:
        """``pool`` with empty slots appended up to ``capacity`` (existing sessions keep their slots)."""
        extra = capacity - pool.capacity
        if extra <= 0:
            return pool
        return jax.tree.map(lambda a: jnp.pad(a, [(0, extra)] + [(0, 0)] * (a.ndim - 1)), pool)

    # ---- jitted bodies -------------------------------------------------------------------------

    def _start(self, params, pool: SlotPool, slots, cond: Conditioning, latents) -> SlotPool:
        """Reset the sessions in ``slots``: their conditioning, an empty cache, then the frame-0 fill."""
        empty = jax.tree.map(lambda a: jnp.zeros((slots.shape[0], *a.shape[1:]), a.dtype), pool.session)
        zero = jnp.zeros(slots.shape, jnp.int32)
        session = jax.vmap(self.sampler._fill, in_axes=(None, 0, 0, 0, 0))(params, empty, latents, cond, zero)
        return SlotPool(_scatter(pool.session, slots, session), _scatter(pool.cond, slots, cond))

    def _fill(self, params, pool: SlotPool, slots, latents, starts) -> SlotPool:
        """Cache fill of each row's observed latents at its own ``starts`` frame."""
        session, cond = _gather(pool.session, slots), _gather(pool.cond, slots)
        session = jax.vmap(self.sampler._fill, in_axes=(None, 0, 0, 0, 0))(
            params, session, latents, cond, starts
        )
        return pool._replace(session=_scatter(pool.session, slots, session))

    def _denoise(self, params, pool: SlotPool, slots, chunk: ChunkInputs, starts) -> ChunkOutputs:
        """Each row's next video block and action chunk, denoised at its own ``starts`` frame."""
        session, cond = _gather(pool.session, slots), _gather(pool.cond, slots)
        return jax.vmap(self.sampler._denoise, in_axes=(None, 0, 0, 0, 0))(
            params, session, cond, chunk, starts
        )


def as_numpy_rows(out: ChunkOutputs, n: int) -> list[ChunkOutputs]:
    """The first ``n`` rows of a batched output as per-session host arrays (drops the padding)."""
    host = jax.tree.map(np.asarray, out)
    return [ChunkOutputs(*(a[i] for a in host)) for i in range(n)]

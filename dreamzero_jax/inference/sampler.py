"""The jitted chunk step of DreamZero inference (upstream ``WANPolicyHead.lazy_joint_video_action``).

A chunk is two jitted calls on a :class:`Session` (the model-side state of one episode):

``fill(params, session, latents, cond, start)``
    Cache-fill pass at timestep 0 over observed latent frames ``[start, start + F)`` (the first-frame
    latent at a reset, later the newly observed block). Returns the session with those frames added.

``denoise(params, session, cond, chunk, start)``
    Denoises the next ``num_frame_per_block`` video latents and one block of actions together with UniPC
    (``lax.scan`` over the steps). Each DiT evaluation runs the conditional and unconditional branch as
    one batch-2 call (the two branches keep separate caches: batch rows 0 and 1); the video velocity is
    the CFG mix, the action velocity the conditional one, as upstream. ``cfg_scale == 1`` runs batch 1.
    The loop runs over DiT passes (``lax.while_loop``): after each pass, DiT step caching
    (:mod:`.step_skipping`) says how many following steps reuse this prediction instead of calling the DiT. The session is not changed (upstream drops
    the cache of denoising passes).

Cache policies (``CACHE_POLICIES``) differ only in where the attention context of a DiT call comes from:
``kv`` keeps the K/V window produced by the fill passes; ``recompute`` keeps only the history latents and
rebuilds the window from them, block by block, inside every DiT evaluation -- the cost of inference
without a KV cache, with the same arithmetic, so both policies must give the same actions.

Layouts are channels-last like the DiT: latents [1, F, h, w, 16], ``ys`` [1, F_y, h, w, 20].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.inference.compile_counter import CompileCounter, counted_jit
from dreamzero_jax.inference.step_skipping import get_schedule
from dreamzero_jax.models.dit import ActionInputs, CausalWanDiT
from dreamzero_jax.models.dit_cache import KVCache
from dreamzero_jax.schedulers import FlowUniPCMultistepScheduler


@dataclass(frozen=True)
class SamplerConfig:
    """Denoising settings of the policy head (upstream names in comments)."""

    num_steps: int = 16  # num_inference_steps
    shift: float = 5.0  # sigma_shift
    cfg_scale: float = 5.0  # 1.0 skips the unconditional branch
    dit_cache: str = "static"  # off | static | dynamic (see step_skipping.SCHEDULES)
    num_dit_steps: int = 8  # NUM_DIT_STEPS for the static mask
    cache_policy: str = "kv"  # kv | recompute (see CACHE_POLICIES)

    @property
    def branches(self) -> int:
        return 1 if self.cfg_scale == 1.0 else 2


class Conditioning(NamedTuple):
    """Per-episode conditioning: ``context`` [branches, L, text_dim] (cond first), ``clip`` [1, 257, 1280],
    ``ys`` [1, F_y, h, w, 20] (mask + first-frame-clip latents)."""

    context: jax.Array
    clip: jax.Array
    ys: jax.Array


class ChunkInputs(NamedTuple):
    """``state`` [1, S, max_state_dim] normalised; noises [1, nfpb, h, w, 16] and [1, A, action_dim]."""

    state: jax.Array
    noise_video: jax.Array
    noise_action: jax.Array


class ChunkOutputs(NamedTuple):
    """Denoised ``video`` [1, nfpb, h, w, 16] and ``action`` [1, A, action_dim]; ``ran`` [num_steps] bool."""

    video: jax.Array
    action: jax.Array
    ran: jax.Array


class Session(NamedTuple):
    """Model-side episode state: the K/V window (batch = branches) and the latents seen, frame-indexed."""

    cache: KVCache
    history: jax.Array  # [1, window_frames, h, w, 16]


def window_frames(cfg: DiTConfig) -> int:
    return cfg.max_attention_size // cfg.frame_seqlen


def y_block(ys: jax.Array, start, n: int) -> jax.Array:
    """``ys`` frames ``[start, start + n)``, or the last ``n`` once they run past the end (upstream rule)."""
    return jax.lax.dynamic_slice_in_dim(ys, jnp.minimum(start, ys.shape[1] - n), n, axis=1)


def _rows(x: jax.Array, n: int) -> jax.Array:
    return jnp.broadcast_to(x, (n, *x.shape[1:]))


def fill_pass(model: CausalWanDiT, cache: KVCache, latents, cond: Conditioning, start) -> KVCache:
    """One action-free pass at timestep 0 over ``latents`` starting at frame ``start``; returns the new cache."""
    nb, f = cond.context.shape[0], latents.shape[1]
    t = jnp.zeros((nb, f), jnp.float32)
    y = y_block(cond.ys, start, f)
    _, _, cache = model.forward_cached(
        _rows(latents, nb), _rows(y, nb), t, cond.context, _rows(cond.clip, nb), cache, start
    )
    return cache


def _history_append(session: Session, latents, start) -> jax.Array:
    return jax.lax.dynamic_update_slice_in_dim(
        session.history, latents.astype(session.history.dtype), start, 1
    )


def _rebuild(model: CausalWanDiT, session: Session, cond: Conditioning, start, tie) -> KVCache:
    """The K/V window of frames ``[0, start)`` recomputed from the history, in the fill passes' order.

    ``tie`` (the current noisy sample) only pins the rebuild inside the DiT call: without it XLA may hoist
    this loop-invariant work out of the denoising loop, and we would no longer measure a cache-less model.
    """
    session, _ = jax.lax.optimization_barrier((session, tie))
    nfpb = model.config.num_frame_per_block
    cache = KVCache.empty(model.config, cond.context.shape[0], session.cache.k.dtype)
    cache = fill_pass(model, cache, session.history[:, :1], cond, 0)

    def block(j, cache):
        s = 1 + nfpb * j
        return fill_pass(model, cache, jax.lax.dynamic_slice_in_dim(session.history, s, nfpb, 1), cond, s)

    return jax.lax.fori_loop(0, (start - 1) // nfpb, block, cache)


class CachePolicy(NamedTuple):
    """``fill(model, session, latents, cond, start) -> cache``; ``context(model, session, cond, start, tie) -> cache``
    gives the K/V window one DiT call attends to (``tie``: that call's noisy input)."""

    fill: Callable
    context: Callable


CACHE_POLICIES: dict[str, CachePolicy] = {
    "kv": CachePolicy(
        fill=lambda model, s, latents, cond, start: fill_pass(model, s.cache, latents, cond, start),
        context=lambda model, s, cond, start, tie: s.cache,
    ),
    "recompute": CachePolicy(fill=lambda model, s, latents, cond, start: s.cache, context=_rebuild),
}


class ChunkSampler:
    """Jitted ``fill`` / ``denoise`` of one DiT graph and :class:`SamplerConfig`; see the module docstring.

    ``compiles`` counts the traces of each jitted entry point (one per input shape signature).
    """

    def __init__(self, model: CausalWanDiT, config: SamplerConfig, compiles: CompileCounter | None = None):
        if config.cache_policy not in CACHE_POLICIES:
            raise ValueError(
                f"unknown cache policy {config.cache_policy!r}; choose one of {sorted(CACHE_POLICIES)}"
            )
        self.config, self.dit_config = config, model.config
        self.graphdef, _ = nnx.split(model)
        self.policy = CACHE_POLICIES[config.cache_policy]
        self.scheduler = FlowUniPCMultistepScheduler(config.num_steps, config.shift)
        self.skip_after = get_schedule(config.dit_cache, config.num_steps, config.num_dit_steps)
        self.compiles = compiles if compiles is not None else CompileCounter()
        self.fill = counted_jit(self._fill, self.compiles, "fill")
        self.denoise = counted_jit(self._denoise, self.compiles, "denoise")

    def new_session(self, latent_hw: tuple[int, int], dtype=jnp.float32) -> Session:
        cfg = self.dit_config
        cache = KVCache.empty(cfg, self.config.branches, dtype)
        history = jnp.zeros((1, window_frames(cfg), *latent_hw, cfg.out_dim), jnp.float32)
        return Session(cache, history)

    def _fill(self, params, session: Session, latents, cond: Conditioning, start) -> Session:
        model = nnx.merge(self.graphdef, params)
        cache = self.policy.fill(model, session, latents, cond, start)
        return Session(cache, _history_append(session, latents, start))

    def _denoise(
        self, params, session: Session, cond: Conditioning, chunk: ChunkInputs, start
    ) -> ChunkOutputs:
        model = nnx.merge(self.graphdef, params)
        cfg, sched, scale = self.config, self.scheduler, self.config.cfg_scale
        nb = cond.context.shape[0]
        nfpb, horizon = chunk.noise_video.shape[1], chunk.noise_action.shape[1]
        y = _rows(y_block(cond.ys, start, nfpb), nb)
        clip, state = _rows(cond.clip, nb), _rows(chunk.state, nb)

        def evaluate(x_video, x_action, t):
            cache = self.policy.context(model, session, cond, start, x_video)
            actions = ActionInputs(_rows(x_action, nb), jnp.full((nb, horizon), t), state)
            tv = jnp.full((nb, nfpb), t)
            v, a, _ = model.forward_cached(
                _rows(x_video, nb), y, tv, cond.context, clip, cache, start, actions
            )
            if nb == 2:
                v = v[1:] + scale * (v[:1] - v[1:])  # CFG on video only: actions use the cond branch
            return v.astype(x_video.dtype), a[:1].astype(x_action.dtype)

        def scheduler_steps(first, count, v, a, x_video, x_action, s_video, s_action):
            """UniPC steps ``first .. first + count - 1``, all with the velocities of the last DiT pass."""

            def one(_, c):
                x_video, x_action, s_video, s_action = c
                x_video, s_video = sched.step(s_video, v, x_video)
                x_action, s_action = sched.step(s_action, a, x_action)
                return x_video, x_action, s_video, s_action

            return jax.lax.fori_loop(first, first + count, one, (x_video, x_action, s_video, s_action))

        def dit_pass(carry):
            i, passes, x_video, x_action, s_video, s_action, v_prev, ran = carry
            t = sched.timesteps[i].astype(jnp.float32)
            v, a = evaluate(x_video, x_action, t)
            skip = jnp.minimum(self.skip_after(i, passes + 1, v, v_prev), cfg.num_steps - 1 - i)
            x_video, x_action, s_video, s_action = scheduler_steps(
                i, skip + 1, v, a, x_video, x_action, s_video, s_action
            )
            return i + skip + 1, passes + 1, x_video, x_action, s_video, s_action, v, ran.at[i].set(True)

        xv, xa = chunk.noise_video, chunk.noise_action
        carry = (
            jnp.int32(0), jnp.int32(0), xv, xa, sched.init_state(xv), sched.init_state(xa),
            jnp.zeros_like(xv), jnp.zeros(cfg.num_steps, bool),
        )  # fmt: skip
        carry = jax.lax.while_loop(lambda c: c[0] < cfg.num_steps, dit_pass, carry)
        return ChunkOutputs(carry[2], carry[3], carry[7])

"""``DreamZeroPolicy``: the JAX DreamZero model as a stateful closed-loop policy (the runner's ``dreamzero``).

It serves up to ``max_sessions`` sessions at once (``start_session`` / ``infer_batch`` / ``end_session``,
the shape of ``evals.contract.sessions.SessionPolicy``): the due requests of many episodes run as one
batched model call (:mod:`.batched`), each session in its own KV-cache slot. ``reset`` / ``infer`` are
the one-episode API: a single session answered through the same batched path (at batch 1).

Per request it follows upstream ``lazy_joint_video_action`` (DROID server frame handling in
:mod:`.frames`):

1. reset detection -- a new prompt, a single-frame clip (first call of an episode) or a full attention
   window (``start_frame >= local_attn_size``) restart the sequence at frame 0 with fresh caches;
2. prompt embeddings (conditional prompt, and the negative prompt when CFG is on) cached per prompt;
3. at a reset: CLIP tokens and the i2v conditioning ``ys`` of the reset image, then a timestep-0 pass
   over its latent that fills the KV cache; otherwise: VAE-encode the newly observed frames and fill
   the cache with their last ``num_frame_per_block`` latents;
4. denoise the next video block and the action chunk together (:class:`.batched.BatchedSampler`);
5. return the first 8 action dims (7 joints + gripper) denormalised with the checkpoint's statistics.

The chunk noise is re-drawn from the episode seed every chunk (upstream re-seeds its generator with the
same seed per chunk), and the action noise is the first values of the video noise, as upstream.
"""

from __future__ import annotations

import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint import resolve_config
from dreamzero_jax.compile_cache import enable_compile_cache
from dreamzero_jax.conditioning import NEGATIVE_PROMPT, build_y, droid_prompt
from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.inference.batched import BatchedSampler, bucket, pad_rows, pad_slots
from dreamzero_jax.inference.compile_counter import CompileCounter
from dreamzero_jax.inference.components import Components, build_components
from dreamzero_jax.inference.encoders import TextEncoder, image_encoder, vae_encoder
from dreamzero_jax.inference.episode import (
    EpisodeState,
    SessionLimitError,
    SessionRequest,
    chunk_noise,
    free_slot,
)
from dreamzero_jax.inference.frames import DROID_CAMERAS, FrameBuffer, block_clip, reset_image
from dreamzero_jax.inference.options import split_overrides
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.precision import kv_cache_dtype, set_dit_precision
from dreamzero_jax.normalization import NormStats, default_stats
from dreamzero_jax.sharding import mesh_from_spec, shard_model
from dreamzero_jax.views import to_signed_unit

ACTION_DIM = 8  # DROID: 7 joint positions + gripper
EPISODE = "\0episode"  # the session key of the one-episode API (reset / infer)
__all__ = ["DreamZeroPolicy", "SessionLimitError", "SessionRequest"]


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


class DreamZeroPolicy:
    """See the module docstring. Build with :meth:`from_config`."""

    def __init__(
        self,
        config: ModelConfig,
        components: Components,
        stats: NormStats,
        *,
        seed: int,
        cache_policy="kv",
        precision: str = "float32",
        max_sessions: int = 1,
    ):
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        self.config, self.stats, self.seed = config, stats, int(seed)
        self.kv_dtype = kv_cache_dtype(precision)  # the DiT's precision is set on components.dit
        dit = config.dit
        self.compiles = CompileCounter()
        sampler_cfg = SamplerConfig(
            num_steps=config.num_inference_steps,
            shift=config.sigma_shift,
            cfg_scale=config.cfg_scale,
            dit_cache=config.dit_cache,
            num_dit_steps=config.num_dit_steps,
            cache_policy=cache_policy,
        )
        self.sampler = ChunkSampler(components.dit, sampler_cfg, self.compiles)
        self.batched = BatchedSampler(self.sampler)
        self.params = nnx.state(components.dit)
        self.text = TextEncoder(
            components.tokenizer, components.t5, dit.text_len, dit.text_dim, self.compiles
        )
        self.encode_image = image_encoder(components.clip, self.compiles, components.image_features)
        self.encode_video = vae_encoder(components.vae, self.compiles)
        self.max_sessions = int(max_sessions)
        self.sessions: dict[str, EpisodeState] = {}
        self.pool = None  # the SlotPool, allocated at the first reset (it needs the latent size)
        self.latent_hw: tuple[int, int] | None = None
        self.metadata = {
            "name": "dreamzero",
            "action_space": "joint_position",
            "action_dim": ACTION_DIM,
            "cameras": DROID_CAMERAS,
            "image_size": tuple(config.view_size),
            "chunk_length": config.action_horizon,
            "config": {
                "config": config.name,
                "cfg_scale": config.cfg_scale,
                "dit_cache": config.dit_cache,
                "num_inference_steps": config.num_inference_steps,
                "noise_scale": config.noise_scale,
                "cache_policy": cache_policy,
                "dtype": precision,
            },
        }

    @classmethod
    def from_config(
        cls, config_name: str | None = None, checkpoint=None, seed: int = 0, **overrides
    ) -> DreamZeroPolicy:
        """Policy of a checkpoint (its recorded config) or of a named config with random weights.

        ``config_name`` defaults to the checkpoint's recorded config (``tiny`` for random weights); naming
        another config than the checkpoint's raises :class:`CheckpointError`. ``overrides``: ModelConfig
        and DiTConfig fields (``cfg_scale``, ``max_chunk_size``, ...) and the policy's own options
        (:class:`.options.PolicyOptions`: ``cache_policy``, ``max_sessions``, ``dtype``, ``mesh``; a mesh
        shards the DiT's parameters with :mod:`dreamzero_jax.sharding`). Turns on the persistent compilation cache
        (:mod:`dreamzero_jax.compile_cache`) first, so a later process skips this one's compilations."""
        enable_compile_cache()
        config, options = split_overrides(resolve_config(config_name, checkpoint), overrides)
        stats = NormStats.load(checkpoint) if checkpoint is not None else default_stats()
        device_mesh = None if options.mesh is None else mesh_from_spec(options.mesh)
        components = build_components(config, checkpoint, seed, dit_mesh=device_mesh)
        set_dit_precision(components.dit, options.dtype)
        if device_mesh is not None:  # random weights; restored ones already sit in their shards
            shard_model(components.dit, device_mesh)
        policy = cls(
            config,
            components,
            stats,
            seed=seed,
            cache_policy=options.cache_policy,
            precision=options.dtype,
            max_sessions=options.max_sessions,
        )
        policy.metadata["config"]["checkpoint"] = None if checkpoint is None else str(checkpoint)
        policy.metadata["config"]["mesh"] = options.mesh
        return policy

    # ---- sessions --------------------------------------------------------------------------------

    def reserve_sessions(self, n: int) -> None:
        """Hold at least ``n`` concurrent sessions (grows the slot pool; running sessions keep their slots)."""
        self.max_sessions = max(self.max_sessions, int(n))
        if self.pool is not None:
            self.pool = self.batched.grow(self.pool, self.max_sessions)

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        """(Re)start ``session``: an episode with ``instruction`` whose chunk noise comes from ``seed``.

        A restarted session keeps its slot; a new one takes a free slot (:class:`SessionLimitError` if none).
        """
        old = self.sessions.get(session)
        slot = old.slot if old is not None else free_slot(self.sessions, self.max_sessions)
        frames = FrameBuffer(self.config.view_size, DROID_CAMERAS)
        self.sessions[session] = EpisodeState(instruction, int(seed), slot, frames)

    def end_session(self, session: str) -> None:
        """Free the session's slot (unknown keys are ignored)."""
        self.sessions.pop(session, None)

    # ---- the one-episode API ---------------------------------------------------------------------

    def reset(self, instruction: str, seed: int | None = None) -> None:
        """Start an episode: clear frames and the sequence; ``seed`` (optional) re-seeds the chunk noise."""
        self.start_session(EPISODE, instruction, self.seed if seed is None else int(seed))

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        """The next action chunk of the episode (``reset`` first; without it the instruction is empty)."""
        if EPISODE not in self.sessions:
            self.reset("")
        return self.infer_batch([SessionRequest(EPISODE, obs)])[0]

    @property
    def start_frame(self) -> int:
        """The one-episode session's next denoising frame."""
        return self.sessions[EPISODE].start_frame

    # ---- per-request host steps ------------------------------------------------------------------

    def _context(self, prompt: str) -> jax.Array:
        """[branches, text_len, text_dim] float32: the prompt's, and the negative prompt's when CFG is on."""
        contexts = [self.text(prompt)]
        if self.config.cfg_scale != 1.0:
            contexts.append(self.text(NEGATIVE_PROMPT))
        return jnp.concatenate(contexts).astype(jnp.float32)

    def _chunk_noise(self, episode: EpisodeState) -> tuple[jax.Array, jax.Array]:
        if episode.noise is None:
            episode.noise = chunk_noise(self.config, episode.seed, self.latent_hw)
        return episode.noise

    @staticmethod
    def _raw_state(obs: dict) -> np.ndarray:
        return np.concatenate([np.ravel(obs["joint_position"])[:7], np.ravel(obs["gripper_position"])[:1]])

    def _state(self, obs: dict) -> jax.Array:
        raw = self._raw_state(obs)
        state = np.zeros((1, 1, self.config.dit.max_state_dim), np.float32)
        state[0, 0, :ACTION_DIM] = self.stats.state.normalize(raw)
        # upstream casts the state to bfloat16 before the model
        return jnp.asarray(state).astype(jnp.bfloat16).astype(jnp.float32)

    def _slots(self, episodes: list[EpisodeState], size: int) -> jax.Array:
        return pad_slots([e.slot for e in episodes], size, self.pool.capacity)

    # ---- batched model steps ---------------------------------------------------------------------

    def _start(self, episodes, clips, contexts, timing: dict[str, float]) -> None:
        """Resetting sessions: CLIP tokens and ``ys`` of each reset image, then their frame-0 cache fill."""
        cfg, size = self.config, bucket(len(episodes))
        t0 = time.perf_counter()
        images = pad_rows([to_signed_unit(reset_image(c)) for c in clips], size)
        clip = self.encode_image(images)  # a fixed stand-in is [1, ...] for any batch
        clip = jax.block_until_ready(jnp.broadcast_to(clip, (size, *clip.shape[1:])))
        timing["image"] = _ms(t0)
        t0 = time.perf_counter()
        ys, latents = jax.block_until_ready(build_y(images, cfg.num_frames, self.encode_video))
        timing["vae"] = _ms(t0)
        if self.pool is None:
            self.latent_hw = tuple(latents.shape[2:4])
            self.pool = self.batched.new_pool(self.max_sessions, self.latent_hw, ys.shape[1], self.kv_dtype)
        cond = Conditioning(pad_rows(contexts, size), clip[:, None], ys[:, None])
        t0 = time.perf_counter()
        slots = self._slots(episodes, size)
        self.pool = jax.block_until_ready(
            self.batched.start(self.params, self.pool, slots, cond, latents[:, None])
        )
        timing["kv_fill"] = _ms(t0)
        for e in episodes:
            e.start_frame = 1

    def _fill(self, episodes, clips, timing: dict[str, float]) -> None:
        """Continuing sessions: VAE of the newly observed frames, then the cache fill of their last block."""
        nfpb, size = self.config.dit.num_frame_per_block, bucket(len(episodes))
        t0 = time.perf_counter()
        video = pad_rows([to_signed_unit(block_clip(c, nfpb)) for c in clips], size)
        latents = jax.block_until_ready(self.encode_video(video)[:, -nfpb:])
        timing["vae"] = timing.get("vae", 0.0) + _ms(t0)
        t0 = time.perf_counter()
        starts = jnp.asarray(
            [e.start_frame - nfpb for e in episodes] + [0] * (size - len(episodes)), jnp.int32
        )
        slots = self._slots(episodes, size)
        self.pool = jax.block_until_ready(
            self.batched.fill(self.params, self.pool, slots, latents[:, None], starts)
        )
        timing["kv_fill"] = timing.get("kv_fill", 0.0) + _ms(t0)

    def _denoise(self, episodes, observations, timing: dict[str, float]):
        """Every session's next chunk in one call: host arrays (video, actions, DiT steps run)."""
        size = bucket(len(episodes))
        t0 = time.perf_counter()
        noises = [self._chunk_noise(e) for e in episodes]
        chunk = ChunkInputs(
            pad_rows([self._state(o) for o in observations], size),
            pad_rows([v for v, _ in noises], size),
            pad_rows([a for _, a in noises], size),
        )
        starts = jnp.asarray([e.start_frame for e in episodes] + [0] * (size - len(episodes)), jnp.int32)
        out = self.batched.denoise(self.params, self.pool, self._slots(episodes, size), chunk, starts)
        video, actions, ran = np.asarray(out.video), np.asarray(out.action), np.asarray(out.ran)
        timing["denoise"] = _ms(t0)
        return video, actions, ran

    # ---- inference -------------------------------------------------------------------------------

    def infer_batch(self, requests) -> list[dict[str, Any]]:
        """Each request (``.session``, ``.obs``; at most one per session) answered as ``infer`` would answer
        it alone, in request order, with all sessions' model work batched."""
        t_total = time.perf_counter()
        keys = [r.session for r in requests]
        if len(set(keys)) != len(keys):
            raise ValueError("infer_batch takes at most one request per session")
        missing = [k for k in keys if k not in self.sessions]
        if missing:
            raise KeyError(f"no started DreamZero session for {missing}")
        episodes = [self.sessions[k] for k in keys]
        observations = [dict(r.obs) for r in requests]
        local_attn = self.config.dit.local_attn_size
        clips = [
            e.push(o, droid_prompt(str(o.get("prompt") or e.instruction)), local_attn)
            for e, o in zip(episodes, observations, strict=True)
        ]
        timing: dict[str, float] = {}
        t0 = time.perf_counter()
        contexts = jax.block_until_ready([self._context(e.prompt) for e in episodes])
        timing["text"] = _ms(t0)
        resets = [i for i, e in enumerate(episodes) if e.resetting]
        going = [i for i, e in enumerate(episodes) if not e.resetting]
        if resets:
            self._start(
                [episodes[i] for i in resets],
                [clips[i] for i in resets],
                [contexts[i] for i in resets],
                timing,
            )
        if going:
            self._fill([episodes[i] for i in going], [clips[i] for i in going], timing)
        video, actions, ran = self._denoise(episodes, observations, timing)
        timing["total"] = _ms(t_total)
        timing["scheduler"] = timing["total"] - sum(
            v for k, v in timing.items() if k in ("text", "image", "vae", "kv_fill", "denoise")
        )  # host-side remainder, as upstream reports its "scheduler" time
        return [
            self._answer(e, o, video[i], actions[i], ran[i], timing, i in resets, len(episodes))
            for i, (e, o) in enumerate(zip(episodes, observations, strict=True))
        ]

    def _answer(self, episode, obs, video, actions, ran, timing, reset: bool, batch: int) -> dict[str, Any]:
        """One session's reply: denormalised actions, its video latents, the call's timing."""
        cfg = self.config
        episode.start_frame += cfg.dit.num_frame_per_block
        episode.chunks += 1
        actions = self.stats.action.denormalize(actions[0, :, :ACTION_DIM])
        rel = cfg.relative_action_dims  # offsets from the state at this call (upstream's relative mode)
        actions[:, :rel] += self._raw_state(obs)[:rel]
        passes = int(ran.sum())
        own = {k: v for k, v in timing.items() if reset or k != "image"}
        own["dit_pass"] = timing["denoise"] / max(passes, 1)
        return {"actions": actions, "video": video, "timing": own, "dit_passes": passes, "batch_size": batch}

"""``DreamZeroPolicy``: the JAX DreamZero model as a stateful closed-loop policy (the runner's ``dreamzero``).

Per ``infer(obs)`` it follows upstream ``lazy_joint_video_action`` (DROID server frame handling in
:mod:`.frames`):

1. reset detection -- a new prompt, a single-frame clip (first call of an episode) or a full attention
   window (``start_frame >= local_attn_size``) restart the sequence at frame 0 with fresh caches;
2. prompt embeddings (conditional prompt, and the negative prompt when CFG is on) cached per prompt;
3. at a reset: CLIP tokens and the i2v conditioning ``ys`` of the reset image, then a timestep-0 pass
   over its latent that fills the KV cache; otherwise: VAE-encode the newly observed frames and fill
   the cache with their last ``num_frame_per_block`` latents;
4. denoise the next video block and the action chunk together (:class:`.sampler.ChunkSampler`);
5. return the first 8 action dims (7 joints + gripper) denormalised with the checkpoint's statistics.

The chunk noise is re-drawn from the episode seed every chunk (upstream re-seeds its generator with the
same seed per chunk), and the action noise is the first values of the video noise, as upstream.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.checkpoint import CheckpointError, read_model_config
from dreamzero_jax.compile_cache import enable_compile_cache
from dreamzero_jax.conditioning import build_y, droid_prompt
from dreamzero_jax.configs import ModelConfig, get_config
from dreamzero_jax.inference.compile_counter import CompileCounter
from dreamzero_jax.inference.components import Components, build_components
from dreamzero_jax.inference.encoders import TextEncoder, image_encoder, vae_encoder
from dreamzero_jax.inference.frames import DROID_CAMERAS, FrameBuffer, block_clip, reset_image
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.normalization import NormStats, default_stats
from dreamzero_jax.views import to_signed_unit

ACTION_DIM = 8  # DROID: 7 joint positions + gripper
# Upstream's negative prompt (``dreamzero_cotrain.py``: the Wan2.1 default), used by the uncond branch.
NEGATIVE_PROMPT = (
    "Vibrant colors, overexposed, static, blurry details, text, subtitles, style, artwork, painting, image, "
    "still, grayscale, dull, worst quality, low quality, JPEG artifacts, ugly, mutilated, extra fingers, bad "
    "hands, bad face, deformed, disfigured, mutated limbs, fused fingers, stagnant image, cluttered background, "
    "three legs, many people in the background, walking backwards."
)


def resolve_config(config_name: str | None, checkpoint) -> ModelConfig:
    """The config a checkpoint records, checked against ``config_name`` when both are given."""
    recorded = read_model_config(checkpoint) if checkpoint is not None else None
    if recorded is None:
        return get_config(config_name or "tiny")
    if config_name is not None and config_name != recorded.name:
        raise CheckpointError(
            f"checkpoint {checkpoint} holds config {recorded.name!r}, not {config_name!r} (drop the config option)"
        )
    return recorded


def chunk_noise(config: ModelConfig, seed: int, latent_hw: tuple[int, int]) -> tuple[jax.Array, jax.Array]:
    """One chunk's (video [1, nfpb, h, w, C], action [1, A, action_dim]) noise; the action noise is the
    first values of the video noise in upstream's [B, C, F, H, W] layout, as upstream draws it."""
    dit, nfpb = config.dit, config.dit.num_frame_per_block
    video = jax.random.normal(jax.random.key(seed), (1, dit.out_dim, nfpb, *latent_hw))  # upstream layout
    n_action = config.action_horizon * dit.action_dim
    action = video.reshape(-1)[:n_action].reshape(1, config.action_horizon, dit.action_dim)
    return jnp.moveaxis(video, 1, -1), action


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1e3


class DreamZeroPolicy:
    """See the module docstring. Build with :meth:`from_config`."""

    def __init__(
        self, config: ModelConfig, components: Components, stats: NormStats, *, seed: int, cache_policy="kv"
    ):
        self.config, self.stats, self.seed = config, stats, int(seed)
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
        self.params = nnx.state(components.dit)
        self.text = TextEncoder(
            components.tokenizer, components.t5, dit.text_len, dit.text_dim, self.compiles
        )
        self.encode_image = image_encoder(components.clip, self.compiles, components.image_features)
        self.encode_video = vae_encoder(components.vae, self.compiles)
        self.frames = FrameBuffer(config.view_size, DROID_CAMERAS)
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
                "cache_policy": cache_policy,
            },
        }
        self.reset("")

    @classmethod
    def from_config(
        cls, config_name: str | None = None, checkpoint=None, seed: int = 0, **overrides
    ) -> DreamZeroPolicy:
        """Policy of a checkpoint (its recorded config) or of a named config with random weights.

        ``config_name`` defaults to the checkpoint's recorded config (``tiny`` for random weights); naming
        another config than the checkpoint's raises :class:`CheckpointError`. ``overrides``: ModelConfig
        fields (``cfg_scale``, ``dit_cache``, ...), DiTConfig fields (``max_chunk_size``, ...) and
        ``cache_policy`` (``kv`` | ``recompute``). Turns on the persistent compilation cache
        (:mod:`dreamzero_jax.compile_cache`) first, so a later process skips this one's compilations."""
        enable_compile_cache()
        config = resolve_config(config_name, checkpoint)
        cache_policy = overrides.pop("cache_policy", "kv")
        model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
        dit_fields = {f.name for f in dataclasses.fields(type(config.dit))}
        unknown = set(overrides) - model_fields - dit_fields
        if unknown:
            raise ValueError(f"unknown DreamZero override(s) {sorted(unknown)}")
        dit = dataclasses.replace(config.dit, **{k: v for k, v in overrides.items() if k in dit_fields})
        config = dataclasses.replace(
            config, dit=dit, **{k: v for k, v in overrides.items() if k in model_fields}
        )
        stats = NormStats.load(checkpoint) if checkpoint is not None else default_stats()
        policy = cls(
            config, build_components(config, checkpoint, seed), stats, seed=seed, cache_policy=cache_policy
        )
        policy.metadata["config"]["checkpoint"] = None if checkpoint is None else str(checkpoint)
        return policy

    # ---- episode state ---------------------------------------------------------------------------

    def reset(self, instruction: str, seed: int | None = None) -> None:
        """Start an episode: clear frames and the sequence; ``seed`` (optional) re-seeds the chunk noise."""
        self.instruction = instruction
        self.episode_seed = self.seed if seed is None else int(seed)
        self._noise = None
        self.frames.reset()
        self.prompt: str | None = None
        self.start_frame = 0
        self.session = None
        self.cond: Conditioning | None = None
        self.chunks = 0

    def _chunk_noise(self, latent_hw: tuple[int, int]) -> tuple[jax.Array, jax.Array]:
        if self._noise is None:
            self._noise = chunk_noise(self.config, self.episode_seed, latent_hw)
        return self._noise

    @staticmethod
    def _raw_state(obs: dict) -> np.ndarray:
        return np.concatenate([np.ravel(obs["joint_position"])[:7], np.ravel(obs["gripper_position"])[:1]])

    def _state(self, obs: dict) -> jax.Array:
        raw = self._raw_state(obs)
        state = np.zeros((1, 1, self.config.dit.max_state_dim), np.float32)
        state[0, 0, :ACTION_DIM] = self.stats.state.normalize(raw)
        # upstream casts the state to bfloat16 before the model
        return jnp.asarray(state).astype(jnp.bfloat16).astype(jnp.float32)

    # ---- inference -------------------------------------------------------------------------------

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        t_total = time.perf_counter()
        timing: dict[str, float] = {}
        cfg, dit = self.config, self.config.dit
        prompt = droid_prompt(str(obs.get("prompt") or self.instruction))
        frames = self.frames.push(obs)
        if prompt != self.prompt or frames.shape[0] == 1 or self.start_frame >= dit.local_attn_size:
            self.prompt, self.start_frame = prompt, 0

        t0 = time.perf_counter()
        contexts = [self.text(prompt)] + ([self.text(NEGATIVE_PROMPT)] if cfg.cfg_scale != 1.0 else [])
        context = jax.block_until_ready(jnp.concatenate(contexts).astype(jnp.float32))
        timing["text"] = _ms(t0)

        nfpb = dit.num_frame_per_block
        if self.start_frame == 0:
            t0 = time.perf_counter()
            image = to_signed_unit(reset_image(frames))[None]
            clip = jax.block_until_ready(self.encode_image(image))
            timing["image"] = _ms(t0)
            t0 = time.perf_counter()
            ys, latents = build_y(image, cfg.num_frames, self.encode_video)
            jax.block_until_ready(ys)
            timing["vae"] = _ms(t0)
            self.cond = Conditioning(context, clip, ys)
            self.session = self.sampler.new_session(latents.shape[2:4])
            fill_start = 0
        else:
            t0 = time.perf_counter()
            latents = self.encode_video(to_signed_unit(block_clip(frames, nfpb))[None])[:, -nfpb:]
            jax.block_until_ready(latents)
            timing["vae"] = _ms(t0)
            self.cond = self.cond._replace(context=context)
            fill_start = self.start_frame - nfpb

        t0 = time.perf_counter()
        self.session = self.sampler.fill(self.params, self.session, latents, self.cond, jnp.int32(fill_start))
        jax.block_until_ready(self.session)
        timing["kv_fill"] = _ms(t0)
        if self.start_frame == 0:
            self.start_frame = 1

        t0 = time.perf_counter()
        noise_video, noise_action = self._chunk_noise(latents.shape[2:4])
        chunk = ChunkInputs(self._state(obs), noise_video, noise_action)
        out = self.sampler.denoise(self.params, self.session, self.cond, chunk, jnp.int32(self.start_frame))
        actions = np.asarray(out.action[0, :, :ACTION_DIM])  # blocks until ready
        timing["denoise"] = _ms(t0)
        passes = int(np.sum(np.asarray(out.ran)))
        timing["dit_pass"] = timing["denoise"] / max(passes, 1)
        self.start_frame += nfpb
        self.chunks += 1

        actions = self.stats.action.denormalize(actions)
        rel = cfg.relative_action_dims  # offsets from the state at this call (upstream's relative mode)
        actions[:, :rel] += self._raw_state(obs)[:rel]
        timing["total"] = _ms(t_total)
        timing["scheduler"] = timing["total"] - sum(
            v for k, v in timing.items() if k in ("text", "image", "vae", "kv_fill", "denoise")
        )  # host-side remainder, as upstream reports its "scheduler" time
        return {"actions": actions, "video": np.asarray(out.video), "timing": timing, "dit_passes": passes}

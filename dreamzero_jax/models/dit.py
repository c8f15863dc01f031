"""CausalWanDiT: DreamZero's world-action diffusion transformer (upstream ``CausalWanModel``), Flax NNX.

Video tensors are channels-last: x [B, F, H, W, 16] noisy latents, y [B, F, H, W, 20] image
conditioning (4 mask + 16 first-frame-latent channels), flows come back as [B, F, H, W, 16].
Other inputs: ``timestep`` [B, F] (per latent frame, 0..1000 scale), ``context`` [B, text_len,
text_dim] (umT5 output), ``clip_feature`` [B, 257, 1280].

Two forwards, same parameters:

``forward_train(x, y, timestep, context, clip_feature, clean_x, actions)``
    Teacher forcing: the clean latents (timestep 0) and the noisy ones are one sequence under the
    block-causal mask of :mod:`dreamzero_jax.models.dit_layout`. ``actions`` holds one block of
    ``num_action_per_block`` actions and ``num_state_per_block`` states per video block.
    Returns ``(video_flow, action_flow)``.

``forward_cached(x, y, timestep, context, clip_feature, cache, start_frame, actions=None)``
    Autoregressive inference with a :class:`~dreamzero_jax.models.dit_cache.KVCache`. ``x`` holds the
    new latent frames starting at absolute frame ``start_frame`` (an int or traced int32, so one
    compiled function serves every chunk). With ``actions`` (one block) the action/state tokens are
    appended as queries and decoded; without, this is a cache-fill pass. Returns
    ``(video_flow, action_flow | None, new_cache)``; ``new_cache`` = cache + the new video keys/values,
    cut to the window. Callers keep it after cache-fill passes and drop it after denoising passes,
    as upstream's policy head does; they also reset it (``KVCache.empty``) when ``start_frame``
    reaches ``local_attn_size``. Cached calls use no attention mask, like upstream.

Jitted entry points over split state live in :mod:`dreamzero_jax.models.dit_jit`.

Like upstream, every sample uses embodiment category 0 (the model builds exactly one category).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs.dit import BUILT_CATEGORIES, CLIP_DIM, DiTConfig
from dreamzero_jax.models.action_modules import CategorySpecificMLP, MultiEmbodimentActionEncoder
from dreamzero_jax.models.dit_attention import self_attention_cached, self_attention_masked
from dreamzero_jax.models.dit_block import DiTBlock, DiTHead
from dreamzero_jax.models.dit_cache import KVCache, appended_length
from dreamzero_jax.models.dit_conditioning import ImageProjection
from dreamzero_jax.models.dit_layout import TrainLayout, cached_rope, train_attention_mask, train_rope
from dreamzero_jax.nn.embeddings import PatchEmbed3D, timestep_sinusoid, unpatchify
from dreamzero_jax.nn.mlp import MLP


class ActionInputs(NamedTuple):
    """Action-stream inputs: noisy actions [B, A, action_dim], their timesteps [B, A], states [B, S, max_state_dim]."""

    action: jax.Array
    timestep_action: jax.Array
    state: jax.Array


class CausalWanDiT(nnx.Module):
    """The DreamZero DiT; attribute names follow upstream's parameter names (see convert/rules_dit.py)."""

    def __init__(self, config: DiTConfig, *, rngs: nnx.Rngs, param_dtype=jnp.float32):
        cfg = self.config = config
        kw = dict(rngs=rngs, param_dtype=param_dtype)
        self.patch_embedding = PatchEmbed3D(cfg.in_dim, cfg.dim, cfg.patch_size, **kw)
        self.text_embedding = MLP(cfg.text_dim, cfg.dim, cfg.dim, "gelu_tanh", **kw)
        self.time_embedding = MLP(cfg.freq_dim, cfg.dim, cfg.dim, "silu", **kw)
        self.time_projection = nnx.Linear(cfg.dim, 6 * cfg.dim, **kw)  # applied after a SiLU
        self.img_emb = ImageProjection(CLIP_DIM, cfg.dim, **kw)
        self.blocks = nnx.List([DiTBlock(cfg, **kw) for _ in range(cfg.num_layers)])
        self.head = DiTHead(cfg, **kw)
        self.state_encoder = CategorySpecificMLP(
            BUILT_CATEGORIES, cfg.max_state_dim, cfg.hidden_size, cfg.dim, **kw
        )
        self.action_encoder = MultiEmbodimentActionEncoder(BUILT_CATEGORIES, cfg.action_dim, cfg.dim, **kw)
        self.action_decoder = CategorySpecificMLP(
            BUILT_CATEGORIES, cfg.dim, cfg.hidden_size, cfg.action_dim, **kw
        )

    # ---- shared pieces -------------------------------------------------------------------------

    def _video_tokens(self, x: jax.Array, y: jax.Array) -> tuple[jax.Array, tuple[int, int, int]]:
        video = (
            jnp.concatenate([x, y.astype(x.dtype)], axis=-1) if self.config.concat_first_frame_latent else x
        )
        return self.patch_embedding(video), self.patch_embedding.grid(video.shape)

    def _frame_times(self, timestep: jax.Array, grid: tuple[int, int, int]) -> jax.Array:
        """Per-frame timesteps [B, F] -> per-token [B, F*h*w]."""
        return jnp.repeat(jnp.asarray(timestep, jnp.float32), grid[1] * grid[2], axis=1)

    def _time(self, t: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Per-token timesteps [B, T] -> time embedding e [B, T, D] and its 6-way projection [B, T, 6, D]."""
        e = self.time_embedding(timestep_sinusoid(t, self.config.freq_dim))
        e0 = self.time_projection(jax.nn.silu(e))
        return e, e0.reshape(*e0.shape[:-1], 6, self.config.dim)

    def _context(self, context: jax.Array, clip_feature: jax.Array) -> jax.Array:
        # clip_feature may have batch 1 for the whole batch (a fixed image-feature stand-in): project it
        # once, then broadcast, instead of projecting 257x1280 features per sample
        img = self.img_emb(clip_feature)
        img = jnp.broadcast_to(img, (context.shape[0], *img.shape[1:]))
        return jnp.concatenate([img, self.text_embedding(context)], axis=1)

    def _register(self, actions: ActionInputs) -> tuple[jax.Array, jax.Array, int]:
        """Action + state tokens [B, A+S, D], their timesteps [B, A+S], and A."""
        batch = actions.action.shape[0]
        cat = jnp.zeros((batch,), jnp.int32)  # upstream overrides embodiment_id with category 0
        t_action = jnp.asarray(actions.timestep_action, jnp.float32)
        a = self.action_encoder(actions.action, t_action, cat)
        s = self.state_encoder(actions.state, cat)
        stride = t_action.shape[1] // s.shape[1]  # state token k takes the first action timestep of block k
        t_state = t_action[:, ::stride][:, : s.shape[1]]
        return jnp.concatenate([a, s], axis=1), jnp.concatenate([t_action, t_state], axis=1), a.shape[1]

    def _decode(self, x_video, e_video, grid, x_action):
        video = unpatchify(self.head(x_video, e_video), grid, self.config.patch_size)
        if x_action is None:
            return video, None
        cat = jnp.zeros((x_action.shape[0],), jnp.int32)
        return video, self.action_decoder(x_action, cat)

    # ---- forwards ------------------------------------------------------------------------------

    def forward_train(
        self,
        x: jax.Array,
        y: jax.Array,
        timestep: jax.Array,
        context: jax.Array,
        clip_feature: jax.Array,
        clean_x: jax.Array,
        actions: ActionInputs,
    ) -> tuple[jax.Array, jax.Array]:
        """Teacher-forcing forward (see module docstring). Returns (video_flow, action_flow)."""
        cfg = self.config
        noisy, grid = self._video_tokens(x, y)
        clean, _ = self._video_tokens(clean_x, y)
        layout = TrainLayout.of(cfg, grid[0])
        register, t_register, num_actions = self._register(actions)
        if register.shape[1] != layout.actions + layout.states:
            raise ValueError(
                f"expected {layout.actions} action + {layout.states} state tokens for {grid[0]} frames"
            )
        t_noisy = self._frame_times(timestep, grid)
        e, e0 = self._time(jnp.concatenate([t_noisy, t_register], axis=1))
        _, e0_clean = self._time(jnp.zeros_like(t_noisy))  # clean stream at timestep 0 (no aug_t)
        e0 = jnp.concatenate([e0_clean, e0], axis=1)
        ctx = self._context(context, clip_feature)
        cos, sin = train_rope(cfg, layout, grid)
        mask = jnp.asarray(train_attention_mask(layout, cfg.local_attn_size))

        def attend(attn, h):
            return self_attention_masked(attn, h, cos, sin, mask), None

        h = jnp.concatenate([clean, noisy, register], axis=1)
        for block in self.blocks:
            h, _ = block(h, e0, ctx, attend)
        n = layout.video
        h = h[:, n:]  # drop the clean stream
        return self._decode(h[:, :n], e[:, :n], grid, h[:, n : n + num_actions])

    def forward_cached(
        self,
        x: jax.Array,
        y: jax.Array,
        timestep: jax.Array,
        context: jax.Array,
        clip_feature: jax.Array,
        cache: KVCache,
        start_frame,
        actions: ActionInputs | None = None,
    ) -> tuple[jax.Array, jax.Array | None, KVCache]:
        """KV-cached inference forward (see module docstring)."""
        cfg = self.config
        if cache.max_tokens != cfg.max_attention_size:
            raise ValueError(
                f"cache holds {cache.max_tokens} tokens; this model's window is {cfg.max_attention_size}"
            )
        h, grid = self._video_tokens(x, y)
        num_video = h.shape[1]
        t = self._frame_times(timestep, grid)
        num_actions = 0
        if actions is not None:
            register, t_register, num_actions = self._register(actions)
            if register.shape[1] != cfg.num_action_per_block + cfg.num_state_per_block:
                raise ValueError("cached calls take exactly one block of actions and states")
            h = jnp.concatenate([h, register], axis=1)
            t = jnp.concatenate([t, t_register], axis=1)
        e, e0 = self._time(t)
        ctx = self._context(context, clip_feature)
        cos, sin = cached_rope(cfg, grid, start_frame, actions is not None)

        new_k, new_v = [], []
        for i, block in enumerate(self.blocks):

            def attend(attn, hn, i=i):
                out, k, v = self_attention_cached(
                    attn, hn, cos, sin, num_video, cache.k[i], cache.v[i], cache.length
                )
                return out, (k, v)

            h, (k, v) = block(h, e0, ctx, attend)
            new_k.append(k)
            new_v.append(v)
        new_cache = KVCache(jnp.stack(new_k), jnp.stack(new_v), appended_length(cache, num_video))
        x_action = h[:, num_video : num_video + num_actions] if actions is not None else None
        video, action = self._decode(h[:, :num_video], e[:, :num_video], grid, x_action)
        return video, action, new_cache

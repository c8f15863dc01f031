"""Per-device memory and FLOPs of DreamZero inference for a mesh, a precision and a batch of sessions.

Weights come from the abstract models (``nnx.eval_shape``: shapes, nothing allocated), each DiT
parameter at the dtype :mod:`dreamzero_jax.models.precision` gives it and cut by the partition rules of
:mod:`dreamzero_jax.sharding`; the encoders (VAE, umT5, CLIP) are replicated on every device, as the
policy places them, in the checkpoint's dtype (``--dtype`` of the converter = the precision here).
The KV cache is ``KVCache.empty``'s shape (``jax.eval_shape``), split over ``model`` by heads when the
axis divides them; sessions split over ``data``. Activations and FLOPs are analytic:

* activations: the largest live set of one DiT layer of the denoising pass -- float32 residual, its
  branch output, q/k/v, float32 attention logits over the whole static key length (an upper bound: a
  fused/flash attention kernel keeps none of them) and the FFN hidden layer; the session pool's KV
  caches are updated in place (the batched sampler donates them to its fill calls), so a fill holds no
  second copy;
* FLOPs: 2 x multiply-adds of every matmul and attention product of one ``forward_cached`` at the
  static shapes XLA runs (keys = whole window + new tokens); elementwise work is left out.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
from flax import nnx
from jax.sharding import AbstractMesh

from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS, DiTConfig
from dreamzero_jax.models.dit_cache import KVCache
from dreamzero_jax.models.precision import PRECISIONS, bf16_linears
from dreamzero_jax.sharding import DATA, MODEL, spec_for

ENCODERS = ("vae", "t5", "clip")
HBM_HEADROOM = 0.9  # leave 10 % of device memory to XLA's own buffers and fragmentation


@dataclasses.dataclass(frozen=True)
class Accelerator:
    """One target: ``devices`` JAX devices with ``hbm_bytes`` each and ``peak_flops`` dense bf16 each."""

    name: str
    devices: int
    hbm_bytes: float
    peak_flops: float


# Vendor figures: v5e 16 GiB HBM, 197 TFLOP/s bf16 per chip; v5p 95 GB, 459 TFLOP/s per chip (a v5p-8
# slice is 4 chips = 4 JAX devices); H100 SXM 80 GB, 989 TFLOP/s dense bf16.
ACCELERATORS = (
    Accelerator("v5e-8", 8, 16 * 2**30, 197e12),
    Accelerator("v5p-8", 4, 95e9, 459e12),
    Accelerator("1xH100", 1, 80e9, 989e12),
    Accelerator("8xH100", 8, 80e9, 989e12),
)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Per-device bytes and whole-model FLOPs of one configuration (see the module docstring)."""

    weights: dict[str, int]  # component -> bytes per device
    kv_per_session: int  # KV cache bytes of one session on one device (both CFG branches)
    history_per_session: int  # the session's float32 latent history (replicated)
    sessions_per_device: int
    activations: int  # one chunk step's largest live set (logits aside), for this device's sessions
    attention_logits: int  # float32 self-attention logits of one layer (0 with a fused/flash kernel)
    flops_dit_pass: int  # one denoising DiT pass of one session (all CFG branches), whole model
    flops_fill_pass: int  # one cache-fill pass of one session
    dit_passes: int  # denoising DiT passes per chunk (DiT step caching skips the others)

    @property
    def total_fused(self) -> int:
        """Bytes per device with a fused attention kernel: weights + sessions x (KV, history) + activations."""
        per_session = self.kv_per_session + self.history_per_session
        return sum(self.weights.values()) + self.sessions_per_device * per_session + self.activations

    @property
    def total(self) -> int:
        """Bytes per device when attention materialises its logits (XLA's plain lowering)."""
        return self.total_fused + self.attention_logits

    @property
    def flops_chunk(self) -> int:
        """One chunk of one session: a fill pass and the denoising passes."""
        return self.flops_fill_pass + self.dit_passes * self.flops_dit_pass


def _per_device(shape: tuple[int, ...], spec, mesh: AbstractMesh) -> int:
    n = math.prod(shape)
    for axis in spec:
        if axis is not None:
            n //= mesh.shape[axis]
    return n


@functools.cache  # the 14B abstract build takes ~12 s; largest_batch asks many times
def dit_weight_bytes(dit: DiTConfig, precision: str, mesh: AbstractMesh) -> int:
    """Bytes per device of the DiT's parameters at ``precision`` sharded on ``mesh``."""
    model = abstract_model("dit", dit)
    bf16 = tuple(p + "." for p in bf16_linears(model)) if precision == "bfloat16" else ()
    total = 0
    for path, var in nnx.to_flat_state(nnx.state(model, nnx.Param)):
        name = ".".join(str(p) for p in path)
        shape = tuple(var.get_value().shape)
        itemsize = 2 if name.startswith(bf16) else 4
        total += _per_device(shape, spec_for(name, shape, mesh), mesh) * itemsize
    return total


@functools.cache
def encoder_weight_bytes(config: ModelConfig, name: str, precision: str) -> int:
    """Bytes of a replicated encoder stored at ``precision``'s dtype (0 when the config has none)."""
    sub = config.component(name)
    if sub is None:
        return 0
    leaves = jax.tree.leaves(nnx.state(abstract_model(name, sub), nnx.Param))
    return sum(math.prod(x.shape) for x in leaves) * jnp.dtype(PRECISIONS[precision]).itemsize


def kv_bytes_per_session(config: ModelConfig, precision: str, mesh: AbstractMesh) -> int:
    """One session's KV cache (all CFG branches) on one device: heads split over ``model`` if it divides them."""
    branches = 1 if config.cfg_scale == 1.0 else 2
    cache = jax.eval_shape(lambda: KVCache.empty(config.dit, branches, PRECISIONS[precision]))
    split = mesh.shape[MODEL] if config.dit.num_heads % mesh.shape[MODEL] == 0 else 1
    return (cache.k.size + cache.v.size) * cache.k.dtype.itemsize // split


def _dit_pass_flops(cfg: DiTConfig, video_tokens: int, with_actions: bool) -> int:
    """Matmul + attention FLOPs of one ``forward_cached`` row (one CFG branch)."""
    d, f = cfg.dim, cfg.ffn_dim
    a, s = (cfg.num_action_per_block, cfg.num_state_per_block) if with_actions else (0, 0)
    t = video_tokens + a + s
    keys = cfg.max_attention_size + t  # static: the whole window + the new tokens
    ctx = cfg.text_len + CLIP_TOKENS
    per_layer = (
        2 * t * d * 4 * d  # self-attention q, k, v, o
        + 2 * 2 * t * keys * d  # q k^T and attn v
        + 2 * t * d * 2 * d  # cross-attention q, o
        + 2 * ctx * d * 2 * d  # cross-attention k, v (text) and k_img, v_img (image)
        + 2 * 2 * t * ctx * d  # cross-attention products
        + 2 * 2 * t * d * f  # FFN
    )
    embed = (
        2 * video_tokens * cfg.in_dim * math.prod(cfg.patch_size) * d  # patch embedding
        + 2 * t * (cfg.freq_dim * d + d * d + 6 * d * d)  # time embedding + projection (per token)
        + 2 * cfg.text_len * (cfg.text_dim * d + d * d)  # text embedding
        + 2 * CLIP_TOKENS * (CLIP_DIM * CLIP_DIM + CLIP_DIM * d)  # image projection
        + 2 * video_tokens * d * cfg.patch_dim_out  # head
        + 2 * a * (cfg.action_dim * d + 3 * d * d)  # action encoder W1, W2 (2d -> d), W3
        + 2 * s * (cfg.max_state_dim * cfg.hidden_size + cfg.hidden_size * d)  # state encoder
        + 2 * a * (d * cfg.hidden_size + cfg.hidden_size * cfg.action_dim)  # action decoder
    )
    return cfg.num_layers * per_layer + embed


def dit_passes_per_chunk(config: ModelConfig) -> int:
    """DiT evaluations per chunk: all steps without step caching, ``num_dit_steps`` with the static mask;
    the dynamic schedule decides at run time (counted as all steps: an upper bound)."""
    return config.num_dit_steps if config.dit_cache == "static" else config.num_inference_steps


def _activation_bytes(config: ModelConfig, precision: str, mesh: AbstractMesh, rows: int) -> tuple[int, int]:
    """(largest live set of one layer without the attention logits, the float32 logits) of ``rows``."""
    cfg, c = config.dit, jnp.dtype(PRECISIONS[precision]).itemsize
    m = mesh.shape[MODEL]
    t = cfg.num_frame_per_block * cfg.frame_seqlen + cfg.num_action_per_block + cfg.num_state_per_block
    keys = cfg.max_attention_size + t
    heads = cfg.num_heads // m if cfg.num_heads % m == 0 else cfg.num_heads
    ffn = cfg.ffn_dim // m if cfg.ffn_dim % m == 0 else cfg.ffn_dim
    dim = cfg.dim // m if cfg.dim % m == 0 else cfg.dim
    per_row = t * cfg.dim * (4 + c) + 3 * t * dim * c + t * ffn * c
    return rows * per_row, rows * heads * t * keys * 4


def plan(config: ModelConfig, precision: str, mesh_sizes: dict[str, int], batch: int = 1) -> Plan:
    """The :class:`Plan` of ``batch`` sessions of ``config`` at ``precision`` on a ('data', 'model') mesh."""
    mesh = AbstractMesh((mesh_sizes[DATA], mesh_sizes[MODEL]), (DATA, MODEL))
    cfg = config.dit
    branches = 1 if config.cfg_scale == 1.0 else 2
    sessions = -(-batch // mesh_sizes[DATA])
    weights = {"dit": dit_weight_bytes(cfg, precision, mesh)}
    weights |= {name: encoder_weight_bytes(config, name, precision) for name in ENCODERS}
    latent_hw = cfg.frame_seqlen * cfg.patch_size[1] * cfg.patch_size[2]
    history = cfg.max_attention_size // cfg.frame_seqlen * latent_hw * cfg.out_dim * 4
    video = cfg.num_frame_per_block * cfg.frame_seqlen
    activations, logits = _activation_bytes(config, precision, mesh, sessions * branches)
    return Plan(
        weights=weights,
        kv_per_session=kv_bytes_per_session(config, precision, mesh),
        history_per_session=history,
        sessions_per_device=sessions,
        activations=activations,
        attention_logits=logits,
        flops_dit_pass=branches * _dit_pass_flops(cfg, video, True),
        flops_fill_pass=branches * _dit_pass_flops(cfg, video, False),
        dit_passes=dit_passes_per_chunk(config),
    )


def largest_batch(
    config: ModelConfig, precision: str, target: Accelerator, *, fused: bool = False, limit: int = 1024
) -> int:
    """Most sessions ``target`` holds with the DiT sharded over all its devices (mesh data:1,model:N);
    ``fused``: attention logits not materialised. 0 when not even one session fits."""
    mesh = {DATA: 1, MODEL: target.devices}

    def fits(b: int) -> bool:
        p = plan(config, precision, mesh, b)
        return (p.total_fused if fused else p.total) <= HBM_HEADROOM * target.hbm_bytes

    if not fits(1):
        return 0
    lo, hi = 1, limit
    while lo < hi:  # total grows with the batch: bisect
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
    return lo

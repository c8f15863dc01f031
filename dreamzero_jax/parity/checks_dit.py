"""Parity of the DiT (CausalWanDiT) against ``dreamzero_tiny/``: the teacher-forcing forward, its
attention mask, and all KV-cached inference calls with their returned caches.

Weights go through the converter (``dreamzero_jax.convert.apply.load_into`` with ``rules_dit``). The
inference calls are replayed in order, each starting from *our* cache of the call the fixture says it
came from, so cache errors would accumulate exactly as they would in use. Video arrays are converted
from the fixtures' [B, C, F, H, W] to our channels-last layout at this boundary.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.convert.apply import load_into
from dreamzero_jax.models.dit import ActionInputs, CausalWanDiT
from dreamzero_jax.models.dit_cache import KVCache
from dreamzero_jax.models.dit_jit import make_forward_cached, make_forward_train
from dreamzero_jax.models.dit_layout import TrainLayout, train_attention_mask
from dreamzero_jax.parity.core import ParityResult, compare

SUBDIR = "dreamzero_tiny"
HANDLES = ("weights.safetensors", "forward_train.npz", "forward_infer.npz:callNN_*")


def channels_last(video: np.ndarray) -> jax.Array:
    """[B, C, F, H, W] (upstream) -> [B, F, H, W, C] (ours)."""
    return jnp.asarray(np.moveaxis(np.asarray(video), 1, -1))


def channels_first(video: jax.Array) -> np.ndarray:
    """[B, F, H, W, C] (ours) -> [B, C, F, H, W] (upstream)."""
    return np.moveaxis(np.asarray(video), -1, 1)


def load_tiny(fixture: Path) -> CausalWanDiT:
    """The tiny DiT with the fixture's upstream weights, converted by the DiT rules."""
    from safetensors.numpy import load_file

    # build abstractly and load: no random initialisation to compile and run
    abstract = nnx.eval_shape(lambda: CausalWanDiT(DiTConfig.tiny(), rngs=nnx.Rngs(0)))
    state = load_into(abstract, load_file(fixture / "weights.safetensors"), "dit")
    return nnx.merge(nnx.graphdef(abstract), state)


def _train(model: CausalWanDiT, path: Path) -> Iterator[ParityResult]:
    f = np.load(path)
    layout = TrainLayout.of(model.config, f["in_x"].shape[2])
    mask = train_attention_mask(layout, model.config.local_attn_size)
    yield compare("forward_train.attn_mask", mask.astype(np.float32), f["aux_attn_mask"], tol=0.0)
    state, forward = make_forward_train(model)
    actions = ActionInputs(f["in_action"], f["in_timestep_action"], f["in_state"])
    video, action = forward(
        state,
        channels_last(f["in_x"]),
        channels_last(f["in_y"]),
        f["in_timestep"],
        f["in_context"],
        f["in_clip_feature"],
        channels_last(f["in_clean_x"]),
        actions,
    )
    yield compare("forward_train.video_flow", channels_first(video), f["out_video_flow"])
    yield compare("forward_train.action_flow", action, f["out_action_flow"])


def _infer(model: CausalWanDiT, path: Path) -> Iterator[ParityResult]:
    f = np.load(path)
    state, forward = make_forward_cached(model)
    caches = {-1: KVCache.empty(model.config, batch=f["in_clip_feature"].shape[0])}
    for i in range(int(f["num_calls"])):
        p, name = f"call{i:02d}_", f"forward_infer.call{i:02d}"
        actions = None
        if p + "in_action" in f.files:
            actions = ActionInputs(f[p + "in_action"], f[p + "in_timestep_action"], f[p + "in_state"])
        cache = caches[int(f[p + "in_kv_cache_from_call"])]
        if int(cache.length) != int(f[p + "in_kv_cache_len"]):
            yield ParityResult(
                name + ".cache_in",
                float("inf"),
                float("nan"),
                0.0,
                f"incoming cache has {int(cache.length)} tokens, fixture {int(f[p + 'in_kv_cache_len'])}",
            )
            continue
        video, action, caches[i] = forward(
            state,
            channels_last(f[p + "in_x"]),
            channels_last(f[p + "in_y"]),
            f[p + "in_timestep"],
            f[p + "in_context"],
            f["in_clip_feature"],
            cache,
            jnp.int32(int(f[p + "in_current_start_frame"])),
            actions,
        )
        yield compare(name + ".video_flow", channels_first(video), f[p + "out_video_flow"])
        if actions is not None:
            yield compare(name + ".action_flow", action, f[p + "out_action_flow"])
        if p + "out_kv_cache" in f.files:
            k, v = caches[i].valid()  # [layers, B, L, N, H] -> upstream [layers, k/v, B, L, N, H]
            yield compare(name + ".kv_cache", np.stack([k, v], axis=1), f[p + "out_kv_cache"])


def checks(fixture_dir: Path) -> Iterator[ParityResult]:
    """DiT parity results for the files found in ``fixture_dir`` (or its ``dreamzero_tiny/``); none if absent."""
    fixture = Path(fixture_dir)
    fixture = fixture / SUBDIR if (fixture / SUBDIR).is_dir() else fixture
    if not (fixture / "weights.safetensors").is_file():
        return
    model = load_tiny(fixture)
    with jax.default_matmul_precision("highest"):
        if (fixture / "forward_train.npz").is_file():
            yield from _train(model, fixture / "forward_train.npz")
        if (fixture / "forward_infer.npz").is_file():
            yield from _infer(model, fixture / "forward_infer.npz")

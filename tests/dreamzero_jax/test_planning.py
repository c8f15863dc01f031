"""`dreamzero_jax.planning` / `info --mesh`: bytes against hand arithmetic, FLOPs against XLA's count."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import pytest
from flax import nnx
from jax.sharding import AbstractMesh

from dreamzero_jax.configs import get_config
from dreamzero_jax.info import main
from dreamzero_jax.models.dit import ActionInputs, CausalWanDiT
from dreamzero_jax.models.dit_cache import KVCache
from dreamzero_jax.planning import HBM_HEADROOM, Accelerator, kv_bytes_per_session, largest_batch, plan

TINY = get_config("tiny")
TINY_PARAMS = 1_921_784  # the fixture's recorded DiT parameter count


def _tiny_bf16_and_split() -> tuple[int, int]:
    """Hand count of the tiny DiT's bf16 Linear elements, and of those the 'model' axis splits."""
    d, f, layers, text = 64, 160, 2, 48
    lin = d * d + d
    per_block = 4 * lin + 6 * lin + (d * f + f) + (f * d + d)  # self q,k,v,o; cross + k_img, v_img; FFN
    embeddings = (text * d + d) + lin + (1280 * 1280 + 1280) + (1280 * d + d)  # text MLP, image projection
    split = 3 * lin + d * d + 5 * lin + d * d + (d * f + f) + f * d  # o and fc2: kernel only (bias whole)
    return layers * per_block + embeddings, layers * split


def test_weight_bytes_equal_the_hand_count():
    f32 = plan(TINY, "float32", {"data": 1, "model": 1})
    assert f32.weights["dit"] == 4 * TINY_PARAMS
    bf16, split = _tiny_bf16_and_split()
    half = plan(TINY, "bfloat16", {"data": 1, "model": 1})
    assert half.weights["dit"] == 4 * (TINY_PARAMS - bf16) + 2 * bf16
    sharded = plan(TINY, "bfloat16", {"data": 1, "model": 2})
    assert sharded.weights["dit"] == 4 * (TINY_PARAMS - bf16) + 2 * (bf16 - split // 2)
    assert sharded.weights["t5"] == 2 * 65_776  # replicated, at the checkpoint's dtype


def test_kv_bytes_equal_the_hand_count():
    # layers x (k, v) x 2 CFG branches x window tokens x dim x bytes; heads split over 'model'
    assert plan(TINY, "float32", {"data": 1, "model": 1}).kv_per_session == 2 * 2 * 2 * (5 * 24) * 64 * 4
    assert (
        plan(TINY, "bfloat16", {"data": 2, "model": 2}, batch=3).kv_per_session
        == 2 * 2 * 2 * 120 * 64 * 2 // 2
    )
    droid = get_config("droid_14b")
    kv = 40 * 2 * 2 * (9 * 880) * 5120 * 2
    assert kv == 12_976_128_000  # the README's 12.98 GB
    assert kv_bytes_per_session(droid, "bfloat16", AbstractMesh((1, 8), ("data", "model"))) == kv // 8
    assert kv_bytes_per_session(droid, "bfloat16", AbstractMesh((1, 3), ("data", "model"))) == kv  # 40 % 3


def test_sessions_split_over_data_and_the_batch_that_fits_is_found_exactly():
    p = plan(TINY, "bfloat16", {"data": 2, "model": 1}, batch=5)
    assert p.sessions_per_device == 3
    three = plan(TINY, "bfloat16", {"data": 1, "model": 2}, batch=3).total
    target = Accelerator("tiny-2", 2, three / HBM_HEADROOM, 1e12)
    assert largest_batch(TINY, "bfloat16", target) == 3
    assert largest_batch(TINY, "bfloat16", Accelerator("none", 2, 1e3, 1e12)) == 0


@pytest.mark.slow  # ~20 s: compiles the tiny DiT pass for XLA's cost analysis
def test_dit_pass_flops_are_the_matmul_share_of_xlas_count():
    cfg = TINY.dit
    model = nnx.eval_shape(lambda: CausalWanDiT(cfg, rngs=nnx.Rngs(0)))
    graphdef, state = nnx.split(model)
    s = jax.ShapeDtypeStruct
    nf, a = cfg.num_frame_per_block, cfg.num_action_per_block

    def step(state, x, y, t, ctx, clip, cache, actions):
        return nnx.merge(graphdef, state).forward_cached(x, y, t, ctx, clip, cache, jnp.int32(3), actions)

    args = (
        state, s((2, nf, 8, 12, 16), jnp.float32), s((2, nf, 8, 12, 20), jnp.float32), s((2, nf), jnp.float32),
        s((2, cfg.text_len, cfg.text_dim), jnp.float32), s((2, 257, 1280), jnp.float32),
        jax.eval_shape(lambda: KVCache.empty(cfg, 2)),
        ActionInputs(s((2, a, cfg.action_dim), jnp.float32), s((2, a), jnp.float32), s((2, 1, cfg.max_state_dim), jnp.float32)),
    )  # fmt: skip
    cost = jax.jit(step).lower(*args).compile().cost_analysis()
    xla = (cost[0] if isinstance(cost, list) else cost)["flops"]
    ours = plan(TINY, "float32", {"data": 1, "model": 1}).flops_dit_pass  # 2 CFG branches = batch 2
    assert 0.93 * xla <= ours <= xla, (ours, xla)  # measured 0.97: XLA also counts elementwise work


def test_info_prints_the_plan_and_refuses_bad_plan_options(capsys):
    assert (
        main(["--config", "tiny", "--mesh", "model=2", "--dtype", "float32", "--batch", "2", "--json"]) == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["plan"]["weights"]["dit"] == 4 * (TINY_PARAMS - _tiny_bf16_and_split()[1] // 2)
    assert data["mesh"] == {"data": 1, "model": 2} and data["plan"]["sessions_per_device"] == 2
    assert main(["--config", "tiny", "--mesh", "model=2"]) == 0
    out = capsys.readouterr().out
    assert "plan: tiny, bfloat16, mesh data:1,model:2" in out and "8xH100" in out and "v5e-8" in out
    for argv, message in (
        (["--mesh", "tensor=8"], "error: --mesh: mesh 'tensor=8'"),
        (["--batch", "0"], "error: --batch must be >= 1"),
    ):
        assert main(["--config", "tiny", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith(message) and err.count("\n") == 1

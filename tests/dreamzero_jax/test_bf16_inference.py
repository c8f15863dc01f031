"""bfloat16 inference (upstream's precision) against float32 on the fixtures' two recorded chunks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.convert.apply import load_into
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.models.precision import kv_cache_dtype, set_dit_precision

# Measured on the tiny fixtures (max abs error vs float32, both chunks; actions and video latents are
# in the model's normalised units, |values| up to ~3): see README "running the real model".
ACTION_BOUND, VIDEO_BOUND = 0.02, 0.15  # measured 0.0066 and 0.067


def _channels_last(a: np.ndarray) -> jnp.ndarray:
    return jnp.asarray(np.moveaxis(a, 1, -1))


def _two_chunks(model: CausalWanDiT, f: dict, precision: str) -> list[tuple[np.ndarray, np.ndarray]]:
    sampler = ChunkSampler(model, SamplerConfig(cfg_scale=5.0, dit_cache="static", num_dit_steps=8))
    params = nnx.state(model)
    cond = Conditioning(
        jnp.concatenate([jnp.asarray(f["in_context_pos"]), jnp.asarray(f["in_context_neg"])]),
        jnp.asarray(f["in_clip_feature"]),
        _channels_last(f["in_ys"]),
    )
    session = sampler.new_session((8, 12), kv_cache_dtype(precision))
    fills = [
        (_channels_last(f["in_first_frame_latent"]), 0),
        (_channels_last(f["chunk1_in_latent_video"]), 1),
    ]
    outs = []
    for c, (latents, start) in enumerate(fills):
        session = sampler.fill(params, session, latents, cond, jnp.int32(start))
        chunk = ChunkInputs(
            jnp.asarray(f["in_state"]),
            _channels_last(f[f"chunk{c}_in_noise_obs"]),
            jnp.asarray(f[f"chunk{c}_in_noise_action"]),
        )
        out = sampler.denoise(params, session, cond, chunk, jnp.int32(start + 1 + c))
        outs.append((np.asarray(out.action), np.asarray(out.video)))
    return outs


def _fixture_model(fixtures_dir) -> CausalWanDiT:
    from safetensors.numpy import load_file

    model = nnx.eval_shape(lambda: CausalWanDiT(DiTConfig.tiny(), rngs=nnx.Rngs(0)))
    load_into(model, load_file(str(fixtures_dir / "dreamzero_tiny/weights.safetensors")), "dit")
    return model


@pytest.mark.slow  # ~50 s on a shared 2-core CPU: compiles the sampler twice
def test_bf16_chunks_stay_within_the_stated_error_of_float32(fixtures_dir):
    model = _fixture_model(fixtures_dir)
    f = dict(np.load(fixtures_dir / "dreamzero_tiny/forward_infer.npz"))
    reference = _two_chunks(model, f, "float32")
    bf16 = _two_chunks(set_dit_precision(model, "bfloat16"), f, "bfloat16")
    for (a32, v32), (a16, v16) in zip(reference, bf16, strict=True):
        action_err, video_err = np.abs(a16 - a32).max(), np.abs(v16 - v32).max()
        print(
            f"bf16 vs float32: action {action_err:.4f} (|a| max {np.abs(a32).max():.2f}), video {video_err:.4f}"
        )
        assert action_err <= ACTION_BOUND and video_err <= VIDEO_BOUND
        assert action_err > 0 and video_err > 0  # bf16 really ran


def test_bf16_stores_matmul_weights_in_bf16_and_keeps_upstreams_float32_modules(fixtures_dir):
    model = set_dit_precision(_fixture_model(fixtures_dir), "bfloat16")
    dtypes = {
        ".".join(map(str, p)): v.get_value().dtype for p, v in nnx.to_flat_state(nnx.state(model, nnx.Param))
    }
    assert (
        dtypes["blocks.0.self_attn.q.kernel"] == jnp.bfloat16
        and dtypes["blocks.1.ffn.fc2.bias"] == jnp.bfloat16
    )
    for name in (
        "time_embedding.fc1.kernel",
        "time_projection.kernel",
        "head.head.kernel",
        "blocks.0.modulation",
    ):
        assert dtypes[name] == jnp.float32, name
    assert dtypes["blocks.0.self_attn.norm_q.weight"] == jnp.float32
    set_dit_precision(model, "float32")  # undone: every parameter float32 again
    assert {x.dtype for x in jax.tree.leaves(nnx.state(model, nnx.Param))} == {jnp.dtype(jnp.float32)}


def test_policy_dtype_option_is_checked_before_building():
    from dreamzero_jax.inference import DreamZeroPolicy

    with pytest.raises(ValueError, match="unknown dtype 'float16'"):
        DreamZeroPolicy.from_config("tiny", dtype="float16")


@pytest.mark.slow  # builds and runs the tiny policy (~1 min on a shared CPU)
def test_policy_dtype_bfloat16_runs_a_bf16_dit_with_a_bf16_kv_cache():
    from dreamzero_jax.inference import DreamZeroPolicy
    from dreamzero_jax.inference.frames import DROID_CAMERAS

    policy = DreamZeroPolicy.from_config("tiny", seed=0, dtype="bfloat16")
    assert policy.metadata["config"]["dtype"] == "bfloat16"
    assert policy.params["blocks"][0]["ffn"]["fc1"]["kernel"][...].dtype == jnp.bfloat16
    rng = np.random.default_rng(0)
    obs = {k: rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for k in DROID_CAMERAS}
    obs |= {"joint_position": rng.normal(0, 0.5, 7), "gripper_position": np.array([0.2]), "prompt": "lift"}
    policy.reset("lift")
    out = policy.infer(obs)
    assert np.isfinite(out["actions"]).all() and out["actions"].dtype == np.float32
    assert policy.session.cache.k.dtype == jnp.bfloat16

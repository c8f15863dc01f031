"""The jitted chunk sampler reproduces the original's two recorded KV-cached chunks (forward_infer.npz)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.configs.dit import DiTConfig
from dreamzero_jax.convert.apply import load_into
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT


def channels_last(a: np.ndarray) -> jnp.ndarray:
    """Upstream [B, C, F, H, W] -> our [B, F, H, W, C]."""
    return jnp.asarray(np.moveaxis(a, 1, -1))


@pytest.fixture(scope="module")
def recorded(fixtures_dir):
    from safetensors.numpy import load_file

    root = fixtures_dir / "dreamzero_tiny"
    model = CausalWanDiT(DiTConfig.tiny(), rngs=nnx.Rngs(0))
    load_into(model, load_file(str(root / "weights.safetensors")), "dit")
    return model, dict(np.load(root / "forward_infer.npz"))


def test_two_chunks_match_the_original(recorded):
    model, f = recorded
    # fixture settings: cfg 5, 16 UniPC steps with shift 5, static DiT mask of 8 steps, KV cache
    sampler = ChunkSampler(model, SamplerConfig(cfg_scale=5.0, dit_cache="static", num_dit_steps=8))
    params = nnx.state(model)
    cond = Conditioning(
        jnp.concatenate([jnp.asarray(f["in_context_pos"]), jnp.asarray(f["in_context_neg"])]),
        jnp.asarray(f["in_clip_feature"]),
        channels_last(f["in_ys"]),
    )
    session = sampler.new_session((8, 12))
    first = channels_last(f["in_first_frame_latent"])
    for c, (fill_latents, fill_start) in enumerate(
        [(first, 0), (channels_last(f["chunk1_in_latent_video"]), 1)]
    ):
        session = sampler.fill(params, session, fill_latents, cond, jnp.int32(fill_start))
        chunk = ChunkInputs(
            jnp.asarray(f["in_state"]),
            channels_last(f[f"chunk{c}_in_noise_obs"]),
            jnp.asarray(f[f"chunk{c}_in_noise_action"]),
        )
        out = sampler.denoise(params, session, cond, chunk, jnp.int32(fill_start + 1 + c))
        want_video = channels_last(f[f"chunk{c}_out_video_pred"])[:, -2:]  # chunk 0 prepends the first latent
        np.testing.assert_allclose(out.action, f[f"chunk{c}_out_action_pred"], atol=1e-4, rtol=0)
        np.testing.assert_allclose(out.video, want_video, atol=1e-4, rtol=0)
        assert np.asarray(out.ran).nonzero()[0].tolist() == [0, 1, 2, 6, 10, 13, 14, 15]
    assert dict(sampler.compiles) == {"fill": 2, "denoise": 1}  # 1-frame and 2-frame fills; one denoise

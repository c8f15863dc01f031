"""Parity of the text/image side against `dreamzero_tiny_encoders/`: umT5, CLIP, the i2v `y`, camera views.

Each check loads the fixture's upstream weights through the conversion rules, runs our code on the saved
inputs and compares with the saved outputs. A fixture directory without these files yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.conditioning import build_y, encode_prompt, y_from_latent
from dreamzero_jax.configs.clip import TINY as CLIP_TINY
from dreamzero_jax.configs.t5 import TINY as T5_TINY
from dreamzero_jax.convert.apply import load_into
from dreamzero_jax.models.clip import CLIPVision, encode_image, preprocess
from dreamzero_jax.models.t5 import UMT5Encoder, bucket_matrix
from dreamzero_jax.parity.core import ParityResult, compare
from dreamzero_jax.views import droid_layout, grid_layout, to_signed_unit

SUBDIR = "dreamzero_tiny_encoders"
# y_io.npz also needs the VAE (dreamzero_jax.models.vae); without it only the mask/concat part is checked.
HANDLES = ("t5_io.npz", "clip_io.npz", "y_io.npz", "views_io.npz")


def _weights(fixture: Path, name: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(fixture / name))


def tiny_t5(fixture: Path) -> UMT5Encoder:
    """The fixture's umT5 (tiny config, upstream weights)."""
    model = nnx.eval_shape(lambda: UMT5Encoder(T5_TINY, rngs=nnx.Rngs(0)))  # no random init: all loaded
    load_into(model, _weights(fixture, "t5_weights.safetensors"), component="t5")
    return model


def tiny_clip(fixture: Path) -> CLIPVision:
    """The fixture's CLIP vision tower (tiny config, upstream weights)."""
    model = nnx.eval_shape(lambda: CLIPVision(CLIP_TINY, rngs=nnx.Rngs(0)))
    load_into(model, _weights(fixture, "clip_weights.safetensors"), component="clip")
    return model


_t5_forward = nnx.jit(UMT5Encoder.__call__)
_encode_prompt = nnx.jit(encode_prompt)
_preprocess = jax.jit(preprocess, static_argnums=1)
_clip_embed = nnx.jit(CLIPVision.embed)
_clip_forward = nnx.jit(CLIPVision.__call__, static_argnums=2)
_clip_encode = nnx.jit(encode_image)


def _t5_checks(fixture: Path) -> Iterator[ParityResult]:
    io = np.load(fixture / "t5_io.npz")
    model = tiny_t5(fixture)
    ids, mask = jnp.asarray(io["in_ids"]), jnp.asarray(io["in_mask"])
    yield compare("t5.rel_bucket", bucket_matrix(512, 512), io["aux_rel_bucket"], tol=0.0)
    for i, bias in enumerate(model.position_biases(ids.shape[1])):
        yield compare(f"t5.pos_bias_layer{i}", bias[None], io[f"aux_pos_bias_layer{i}"], tol=1e-6)
    yield compare("t5.hidden", _t5_forward(model, ids, mask), io["out_hidden"], tol=1e-4)
    emb = _encode_prompt(model, ids, mask)
    yield compare(
        "t5.encode_prompt_batch",
        emb.astype(jnp.float32),
        io["head_prompt_emb_batch"],
        tol=3e-2,
        note="bf16 output, zeroed from the batch's shortest length",
    )
    single = jnp.concatenate([_encode_prompt(model, ids[i : i + 1], mask[i : i + 1]) for i in range(3)])
    yield compare(
        "t5.encode_prompt_single", single.astype(jnp.float32), io["head_prompt_emb_single"], tol=3e-2
    )


def _clip_checks(fixture: Path) -> Iterator[ParityResult]:
    io = np.load(fixture / "clip_io.npz")
    model = tiny_clip(fixture)
    for case in ("a", "b"):
        image = to_signed_unit(io[f"{case}_in_uint8"])  # [B, H, W, 3]
        yield compare(
            f"clip.{case}.in_image", image, io[f"{case}_in_image"][:, 0].transpose(0, 2, 3, 1), tol=0.0
        )
        pre = _preprocess(image, model.config.image_size)
        yield compare(
            f"clip.{case}.preprocessed", pre, io[f"{case}_preprocessed"].transpose(0, 2, 3, 1), tol=1e-4
        )
        ref_pre = jnp.asarray(io[f"{case}_preprocessed"].transpose(0, 2, 3, 1))
        yield compare(
            f"clip.{case}.embeddings", _clip_embed(model, ref_pre), io[f"{case}_aux_embeddings"], tol=1e-5
        )
        all_blocks = _clip_forward(model, ref_pre, model.config.num_layers)
        yield compare(f"clip.{case}.all_blocks", all_blocks, io[f"{case}_aux_all_blocks"], tol=1e-4)
        tokens = _clip_encode(model, image)
        yield compare(
            f"clip.{case}.out_tokens",
            tokens,
            io[f"{case}_out_tokens"],
            tol=1e-4,
            note="from uint8, through our bicubic resize",
        )


def _tiny_vae_encode(fixture: Path):
    """Jitted encode of the fixture's VAE, or None while `dreamzero_jax.models.vae` is unavailable."""
    try:
        from dreamzero_jax.configs.vae import TINY as VAE_TINY
        from dreamzero_jax.models.vae import WanVAE, encode_video
    except ImportError:
        return None
    vae = nnx.eval_shape(lambda: WanVAE(VAE_TINY, rngs=nnx.Rngs(0)))
    load_into(vae, _weights(fixture, "vae_weights.safetensors"), component="vae")
    return lambda video: encode_video(vae, video)


def _y_checks(fixture: Path) -> Iterator[ParityResult]:
    io = np.load(fixture / "y_io.npz")
    ref_y = io["out_y"].transpose(0, 2, 3, 4, 1)  # [B, T', h, w, 20] channels-last
    ref_first = io["out_new_image"].transpose(0, 2, 3, 4, 1)
    # Mask construction and concatenation alone, around the reference VAE latent.
    y, first = y_from_latent(jnp.asarray(ref_y[..., 4:]))
    yield compare("y.from_latent", y, ref_y, tol=0.0, note="mask + concat around the reference latent")
    yield compare("y.new_image", first, ref_first, tol=0.0)
    image = jnp.asarray(io["in_image"][:, 0].transpose(0, 2, 3, 1))  # [B, H, W, 3] in [-1, 1]
    vae_encode = _tiny_vae_encode(fixture)
    if vae_encode is not None:
        y, first = build_y(image, int(io["in_num_frames"]), vae_encode)
        yield compare("y.build_with_vae", y, ref_y, tol=1e-4, note="end to end through the JAX VAE")
        yield compare("y.build_with_vae.new_image", first, ref_first, tol=1e-4)
    clip = tiny_clip(fixture)
    yield compare("y.clip_context", _clip_encode(clip, image), io["out_clip_context"], tol=1e-4)


def _views_checks(fixture: Path) -> Iterator[ParityResult]:
    io = np.load(fixture / "views_io.npz")
    for suffix in ("", "_b"):
        out = droid_layout(io[f"in_views_droid{suffix}"])
        yield compare(f"views.droid{suffix}", out, io[f"out_droid_layout{suffix}"], tol=0.0)
    yield compare("views.grid", grid_layout(io["in_views_grid"]), io["out_grid_layout"], tol=0.0)
    video = to_signed_unit(np.stack([io["out_droid_layout"], io["out_droid_layout_b"]]))
    yield compare("views.signed_unit_video", video, io["out_video"].transpose(0, 2, 3, 4, 1), tol=0.0)


_CHECKS = (
    ("t5_io.npz", _t5_checks),
    ("clip_io.npz", _clip_checks),
    ("y_io.npz", _y_checks),
    ("views_io.npz", _views_checks),
)


def checks(fixture_dir: Path) -> Iterator[ParityResult]:
    """Parity results for umT5, CLIP, y and views; nothing when ``fixture_dir`` lacks their files."""
    fixture = Path(fixture_dir)
    fixture = fixture / SUBDIR if (fixture / SUBDIR).is_dir() else fixture
    with jax.default_matmul_precision("highest"):
        for filename, check in _CHECKS:
            if (fixture / filename).is_file():
                yield from check(fixture)

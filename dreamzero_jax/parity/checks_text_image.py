"""Parity of the text/image side against `dreamzero_tiny_encoders/`: umT5, CLIP, the i2v `y`, camera views.

Each check loads the fixture's upstream weights through the conversion rules, runs our code on the saved
inputs and compares with the saved outputs. A fixture directory without these files yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.configs.clip import TINY as CLIP_TINY
from dreamzero_jax.configs.t5 import TINY as T5_TINY
from dreamzero_jax.conditioning import encode_prompt, y_from_latent
from dreamzero_jax.convert import rules_clip, rules_t5
from dreamzero_jax.convert.rules import TRANSFORMS, Rule, match
from dreamzero_jax.models.clip import CLIPVision, encode_image, preprocess
from dreamzero_jax.models.t5 import UMT5Encoder, bucket_matrix
from dreamzero_jax.parity.core import ParityResult, compare
from dreamzero_jax.views import droid_layout, grid_layout, to_signed_unit

SUBDIR = "dreamzero_tiny_encoders"


def load_with_rules(model: nnx.Module, tensors: Mapping[str, np.ndarray], rules: tuple[Rule, ...]) -> None:
    """Fill every parameter of ``model`` from PyTorch-named ``tensors`` via ``rules`` (strict both ways).

    Rules with an empty target mark known, intentionally dropped tensors. Kept small and local so these
    checks do not depend on the full converter; `dreamzero_jax.convert.apply` is the user-facing path.
    """
    flat = dict(nnx.to_flat_state(nnx.state(model, nnx.Param)))
    by_name = {".".join(str(p) for p in path): path for path in flat}
    new = {}
    for name, value in tensors.items():
        m = match(rules, name)
        if m is None:
            raise KeyError(f"no conversion rule for {name!r}")
        if not m.target:
            continue
        if m.target not in by_name:
            raise KeyError(f"rule for {name!r} targets {m.target!r}, which the model does not have")
        path = by_name[m.target]
        want = tuple(flat[path].shape)
        arr = TRANSFORMS[m.transform](np.asarray(value), want)
        if tuple(arr.shape) != want:
            raise ValueError(f"{name}: converted shape {arr.shape} != model shape {want} at {m.target}")
        new[path] = jnp.asarray(arr, dtype=flat[path].dtype)
    missing = sorted(".".join(map(str, p)) for p in flat if p not in new)
    if missing:
        raise KeyError(f"parameters not filled by the checkpoint: {missing}")
    nnx.update(model, nnx.State.from_flat_path(new))


def _weights(fixture: Path, name: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    return load_file(str(fixture / name))


def tiny_t5(fixture: Path) -> UMT5Encoder:
    """The fixture's umT5 (tiny config, upstream weights)."""
    model = nnx.eval_shape(lambda: UMT5Encoder(T5_TINY, rngs=nnx.Rngs(0)))  # no random init: all loaded
    load_with_rules(model, _weights(fixture, "t5_weights.safetensors"), rules_t5.RULES)
    return model


def tiny_clip(fixture: Path) -> CLIPVision:
    """The fixture's CLIP vision tower (tiny config, upstream weights)."""
    model = nnx.eval_shape(lambda: CLIPVision(CLIP_TINY, rngs=nnx.Rngs(0)))
    load_with_rules(model, _weights(fixture, "clip_weights.safetensors"), rules_clip.RULES)
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
    yield compare("t5.encode_prompt_batch", emb.astype(jnp.float32), io["head_prompt_emb_batch"], tol=3e-2,
                  note="bf16 output, zeroed from the batch's shortest length")
    single = jnp.concatenate([_encode_prompt(model, ids[i : i + 1], mask[i : i + 1]) for i in range(3)])
    yield compare("t5.encode_prompt_single", single.astype(jnp.float32), io["head_prompt_emb_single"], tol=3e-2)


def _clip_checks(fixture: Path) -> Iterator[ParityResult]:
    io = np.load(fixture / "clip_io.npz")
    model = tiny_clip(fixture)
    for case in ("a", "b"):
        image = to_signed_unit(io[f"{case}_in_uint8"])  # [B, H, W, 3]
        yield compare(f"clip.{case}.in_image", image, io[f"{case}_in_image"][:, 0].transpose(0, 2, 3, 1), tol=0.0)
        pre = _preprocess(image, model.config.image_size)
        yield compare(f"clip.{case}.preprocessed", pre, io[f"{case}_preprocessed"].transpose(0, 2, 3, 1), tol=1e-4)
        ref_pre = jnp.asarray(io[f"{case}_preprocessed"].transpose(0, 2, 3, 1))
        yield compare(f"clip.{case}.embeddings", _clip_embed(model, ref_pre), io[f"{case}_aux_embeddings"], tol=1e-5)
        all_blocks = _clip_forward(model, ref_pre, model.config.num_layers)
        yield compare(f"clip.{case}.all_blocks", all_blocks, io[f"{case}_aux_all_blocks"], tol=1e-4)
        tokens = _clip_encode(model, image)
        yield compare(f"clip.{case}.out_tokens", tokens, io[f"{case}_out_tokens"], tol=1e-4,
                      note="from uint8, through our bicubic resize")


def _y_checks(fixture: Path) -> Iterator[ParityResult]:
    io = np.load(fixture / "y_io.npz")
    ref_y = io["out_y"].transpose(0, 2, 3, 4, 1)  # [B, T, h, w, 20] channels-last
    # The latent part is the VAE's; here the mask construction and the concatenation are checked on it.
    y, first = y_from_latent(jnp.asarray(ref_y[..., 4:]))
    yield compare("y.from_latent", y, ref_y, tol=0.0, note="mask + concat around the reference VAE latent")
    yield compare("y.new_image", first, io["out_new_image"].transpose(0, 2, 3, 4, 1), tol=0.0)


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

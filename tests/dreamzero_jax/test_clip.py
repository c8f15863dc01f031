"""CLIP vision tower: PyTorch-exact bicubic preprocessing, 257-token output, parity with upstream."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import load_file

from dreamzero_jax.configs.clip import CLIP_CONFIGS, TINY
from dreamzero_jax.convert import rules_clip
from dreamzero_jax.convert.apply import expected_checkpoint_shapes
from dreamzero_jax.convert.components import ignored
from dreamzero_jax.convert.rules import match
from dreamzero_jax.models.bicubic import bicubic_matrix, resize_bicubic
from dreamzero_jax.models.clip import CLIPVision, encode_image, preprocess
from dreamzero_jax.parity.checks_text_image import SUBDIR, tiny_clip
from dreamzero_jax.views import to_signed_unit

_encode = nnx.jit(encode_image)
_forward = nnx.jit(CLIPVision.__call__, static_argnums=2)
_preprocess = jax.jit(preprocess, static_argnums=1)


@pytest.fixture(scope="module")
def clip_io(fixtures_dir):
    return np.load(fixtures_dir / SUBDIR / "clip_io.npz")


@pytest.fixture(scope="module")
def model(fixtures_dir):
    return tiny_clip(fixtures_dir / SUBDIR)


def _nhwc(x):
    return x.transpose(0, 2, 3, 1)


def test_bicubic_matrix_properties():
    m = bicubic_matrix(10, 10)
    np.testing.assert_allclose(m, np.eye(10), atol=1e-6)  # same size: identity
    for n_in, n_out in ((64, 224), (640, 224)):
        m = bicubic_matrix(n_in, n_out)
        np.testing.assert_allclose(m.sum(axis=1), 1.0, atol=1e-5)  # constants are preserved
        assert m.min() < 0  # a = -0.75 cubic has negative lobes (no antialiasing when shrinking)


@pytest.mark.parametrize("case", ["a", "b"])  # a: upsampling 64x96, b: downsampling 352x640
def test_resize_and_preprocess_match_torch(clip_io, case):
    image = to_signed_unit(clip_io[f"{case}_in_uint8"])
    np.testing.assert_array_equal(np.asarray(image), _nhwc(clip_io[f"{case}_in_image"][:, 0]))
    with jax.default_matmul_precision("highest"):
        resized = resize_bicubic(image, 224, 224)
        pre = _preprocess(image, 224)
    np.testing.assert_allclose(np.asarray(resized), _nhwc(clip_io[f"{case}_aux_resized"]), atol=3e-5)
    np.testing.assert_allclose(np.asarray(pre), _nhwc(clip_io[f"{case}_preprocessed"]), atol=6e-5)


@pytest.mark.parametrize("case", ["a", "b"])
def test_tokens_match_upstream(model, clip_io, case):
    with jax.default_matmul_precision("highest"):
        tokens = _encode(model, to_signed_unit(clip_io[f"{case}_in_uint8"]))
        pre = jnp.asarray(_nhwc(clip_io[f"{case}_preprocessed"]))
        embeddings = model.embed(pre)
        all_blocks = _forward(model, pre, TINY.num_layers)
    assert tokens.shape == (clip_io[f"{case}_in_uint8"].shape[0], 257, TINY.dim)
    np.testing.assert_allclose(np.asarray(embeddings), clip_io[f"{case}_aux_embeddings"], atol=1e-5)
    np.testing.assert_allclose(np.asarray(tokens), clip_io[f"{case}_out_tokens"], atol=1e-4)
    np.testing.assert_allclose(np.asarray(all_blocks), clip_io[f"{case}_aux_all_blocks"], atol=1e-4)
    # DreamZero's tokens stop one block early: they must differ from the all-blocks output
    assert not np.allclose(np.asarray(tokens), np.asarray(all_blocks), atol=1e-2)


def test_real_config_gives_257_tokens_of_1280():
    cfg = CLIP_CONFIGS["droid_14b"]
    model = nnx.eval_shape(lambda: CLIPVision(cfg, rngs=nnx.Rngs(0)))
    images = jax.ShapeDtypeStruct((2, 352, 640, 3), jnp.float32)
    out = jax.eval_shape(lambda m, x: encode_image(m, x), model, images)
    assert out.shape == (2, 257, 1280)
    n_params = sum(int(np.prod(v.shape)) for _, v in nnx.to_flat_state(nnx.state(model, nnx.Param)))
    assert 6.2e8 < n_params < 6.4e8  # README: vision tower + log_scale 632 M (we drop post_norm/head)


def test_rules_cover_every_key_and_drop_only_unused(fixtures_dir):
    tensors = load_file(str(fixtures_dir / SUBDIR / "clip_weights.safetensors"))
    dropped = {name for name in tensors if ignored(name, "clip")}
    assert dropped == {"log_scale", "visual.head", "visual.post_norm.weight", "visual.post_norm.bias"}
    assert ignored("textual.blocks.0.attn.q.weight", "clip")
    model = nnx.eval_shape(lambda: CLIPVision(TINY, rngs=nnx.Rngs(0)))
    # the rules run backwards give exactly the used checkpoint keys and shapes
    kept = {name: tuple(t.shape) for name, t in tensors.items() if name not in dropped}
    assert expected_checkpoint_shapes("clip", model) == kept
    assert all(match(rules_clip.RULES, name) is not None for name in kept)


def test_unknown_activation_is_rejected():
    from dataclasses import replace

    with pytest.raises(ValueError, match="unknown activation"):
        nnx.eval_shape(lambda: CLIPVision(replace(TINY, activation="relu6"), rngs=nnx.Rngs(0)))

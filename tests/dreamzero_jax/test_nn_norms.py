"""RMSNorm / LayerNorm: Wan's formulas, float32 statistics, dtype round trip."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.nn.norms import LayerNorm, RMSNorm, layer_norm, rms_norm


def test_rms_norm_formula():
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype(np.float32) * 3
    w = np.linspace(0.5, 1.5, 8).astype(np.float32)
    want = x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-6) * w
    np.testing.assert_allclose(rms_norm(jnp.asarray(x), jnp.asarray(w), 1e-6), want, rtol=1e-5, atol=1e-6)


def test_layer_norm_formula_and_affine_module():
    x = np.random.default_rng(1).normal(size=(3, 7)).astype(np.float32) + 4
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(layer_norm(jnp.asarray(x), None, None, 1e-5), want, rtol=1e-5, atol=1e-5)
    ln = LayerNorm(7, 1e-5, affine=True)
    ln.weight[...] = jnp.full((7,), 2.0)
    ln.bias[...] = jnp.full((7,), -1.0)
    np.testing.assert_allclose(ln(jnp.asarray(x)), want * 2 - 1, rtol=1e-5, atol=1e-5)
    assert not hasattr(LayerNorm(7), "weight")  # Wan's norm1/norm2/head.norm carry no parameters


def test_norms_keep_input_dtype_and_compute_in_float32():
    x = (jnp.arange(16, dtype=jnp.float32).reshape(2, 8) * 1e3).astype(jnp.bfloat16)
    out = RMSNorm(8, param_dtype=jnp.bfloat16)(x)
    assert out.dtype == jnp.bfloat16
    # like torch, a float32 weight promotes the (bf16-rounded) normalised value to float32
    assert RMSNorm(8)(x).dtype == jnp.float32
    ref = rms_norm(x.astype(jnp.float32), None, 1e-6)
    np.testing.assert_allclose(np.asarray(out, np.float32), ref, rtol=1e-2)
    assert isinstance(RMSNorm(8).weight, nnx.Param)

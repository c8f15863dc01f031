"""MLP activations by name and the AdaLN modulation split."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from dreamzero_jax.nn.mlp import MLP
from dreamzero_jax.nn.modulation import modulate, modulation_terms


def test_mlp_uses_named_activation():
    x = jax.random.normal(jax.random.key(0), (2, 3, 4))
    m = MLP(4, 6, 5, "gelu_tanh", rngs=nnx.Rngs(0))
    h = m.fc1(x)
    want = m.fc2(0.5 * h * (1 + jnp.tanh(np.sqrt(2 / np.pi) * (h + 0.044715 * h**3))))
    np.testing.assert_allclose(m(x), want, atol=1e-6)
    with pytest.raises(ValueError, match="unknown activation"):
        MLP(4, 6, 5, "swishy", rngs=nnx.Rngs(0))


def test_modulation_terms_add_table_per_token():
    table = jnp.arange(6 * 3, dtype=jnp.float32).reshape(1, 6, 3)
    e = jnp.ones((2, 4, 6, 3))
    terms = modulation_terms(table, e)
    assert len(terms) == 6 and terms[2].shape == (2, 4, 3)
    np.testing.assert_array_equal(terms[2][1, 3], table[0, 2] + 1)
    np.testing.assert_array_equal(
        modulate(jnp.full((3,), 2.0), jnp.ones(3), jnp.full(3, 0.5)), [4.0, 4.0, 4.0]
    )

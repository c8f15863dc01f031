"""A guard for "no parameter initialiser runs": random draws on concrete keys raise.

Every public ``jax.random`` sampler (normal, truncated normal, uniform, ...: what all initialisers
call) checks its key with ``_check_prng_key`` before entering its jitted body. Under ``nnx.eval_shape``
that key is a tracer and nothing is computed; a concrete key means an initialiser really runs, which an
abstract load must never do. (Lower down, inside the samplers' own jit, every key is a tracer.)
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import jax
from jax._src.random import core as random_core

SAMPLERS = {"uniform", "normal", "truncated_normal", "bits", "randint", "bernoulli", "orthogonal"}


class InitialiserRan(AssertionError):
    """A random draw ran on a concrete key."""


@contextlib.contextmanager
def forbid_concrete_random_draws() -> Iterator[None]:
    original = random_core._check_prng_key

    def guarded(name, key, **kw):
        if name in SAMPLERS and not isinstance(key, jax.core.Tracer):
            raise InitialiserRan(f"jax.random.{name} ran on a concrete key")
        return original(name, key, **kw)

    random_core._check_prng_key = guarded
    try:
        yield
    finally:
        random_core._check_prng_key = original

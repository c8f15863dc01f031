"""Counting compilations of the jitted inference steps.

``counted_jit(fn, counter, name)`` is ``jax.jit(fn)`` that bumps ``counter[name]`` every time JAX traces
``fn``. A jitted function is traced exactly when it meets a new input signature (shapes, dtypes, static
values), which is when it compiles, so the count is the number of compilations of that entry point.
Tests and the benchmark read it to prove that chunks and episodes reuse one compilation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import jax


class CompileCounter(Counter):
    """name -> number of traces (= compilations) of that jitted function; ``total`` sums them."""

    @property
    def total(self) -> int:
        return sum(self.values())


def counted_jit(fn: Callable, counter: CompileCounter, name: str, **jit_kwargs) -> Callable:
    """``jax.jit(fn, **jit_kwargs)`` that records each trace of ``fn`` in ``counter[name]``."""

    def traced(*args, **kwargs):
        counter[name] += 1  # runs only while tracing: once per compilation
        return fn(*args, **kwargs)

    traced.__name__ = getattr(fn, "__name__", name)
    return jax.jit(traced, **jit_kwargs)

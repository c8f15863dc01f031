"""Real-time DreamZero inference: KV-cached chunk sampler, DiT step caching, CFG and ``DreamZeroPolicy``.

``DreamZeroPolicy`` is imported lazily so that ``import dreamzero_jax.inference`` stays cheap.
"""

from __future__ import annotations

__all__ = ["DreamZeroPolicy"]


def __getattr__(name: str):
    if name == "DreamZeroPolicy":
        from dreamzero_jax.inference.policy import DreamZeroPolicy

        return DreamZeroPolicy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

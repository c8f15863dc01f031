"""Configs of the DreamZero JAX port: one per component (``dit``, ``vae``, ``t5``, ``clip``) plus the
composed :class:`ModelConfig` registry used by the CLIs and the policy.

``CONFIGS`` maps ``"tiny"``, ``"droid_14b"`` and ``"bench"`` to a :class:`ModelConfig`; ``get_config(name)``
looks one up. Component configs are imported lazily and optionally (a component whose config module
does not exist yet is ``None``), and the registry is built on first access, so importing a component
config module (``dreamzero_jax.configs.dit``) never drags in the others.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

COMPONENT_NAMES = ("dit", "vae", "t5", "clip")


@dataclass(frozen=True)
class ModelConfig:
    """Everything a DreamZero policy needs: component configs and the head's inference settings."""

    name: str
    dit: Any = None  # DiTConfig
    vae: Any = None  # VAEConfig
    t5: Any = None  # T5Config
    clip: Any = None  # CLIPConfig
    num_inference_steps: int = 16  # UniPC steps per chunk
    sigma_shift: float = 5.0
    cfg_scale: float = 5.0  # 1.0 skips the unconditional pass
    action_horizon: int = 24
    num_frames: int = 33  # pixel frames per sequence (-> (num_frames - 1) / 4 + 1 latent frames)
    num_views: int = 3
    view_size: tuple[int, int] = (176, 320)  # (H, W) of each camera view before the 2x2 layout
    seed: int = 1140  # upstream re-seeds the chunk noise with this for every chunk
    dit_cache: str = (
        "static"  # key of dreamzero_jax.inference.step_skipping.SCHEDULES: off | static | dynamic
    )
    num_dit_steps: int = 8  # DiT passes per chunk for the static mask (upstream NUM_DIT_STEPS)

    def component(self, name: str):
        """The config of component ``name`` (None if that component is not available)."""
        if name not in COMPONENT_NAMES:
            raise KeyError(f"unknown component {name!r}; valid: {', '.join(COMPONENT_NAMES)}")
        return getattr(self, name)

    @property
    def latent_frames(self) -> int:
        return (self.num_frames - 1) // 4 + 1


def _component_config(component: str, variant: str):
    """``<COMPONENT>_CONFIGS[variant]`` from ``dreamzero_jax.configs.<component>``, or None if absent."""
    module_name = f"dreamzero_jax.configs.{component}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            return None
        raise
    return getattr(module, f"{component.upper()}_CONFIGS", {}).get(variant)


def _build() -> dict[str, ModelConfig]:
    def compose(name: str, variants: dict[str, str | None], **settings) -> ModelConfig:
        parts = {c: (_component_config(c, v) if v else None) for c, v in variants.items()}
        return ModelConfig(name=name, **parts, **settings)

    same = {c: "tiny" for c in COMPONENT_NAMES}
    return {
        # the fixtures' sizes: 17 frames of 3 views of 32x48 -> 5 latent frames of 8x12
        "tiny": compose("tiny", same, action_horizon=4, num_frames=17, view_size=(32, 48)),
        "droid_14b": compose("droid_14b", {c: "droid_14b" for c in COMPONENT_NAMES}),
        # the benchmark DiT (dim 256, 64 tokens per frame = 16x16 latents = 128x128 pixels); the tiny
        # VAE works at any size, but no text/image encoder matches its widths, so the benchmark feeds
        # random prompt and CLIP embeddings instead
        "bench": compose(
            "bench",
            {"dit": "bench", "vae": "tiny", "t5": None, "clip": None},
            action_horizon=32,
            num_frames=17,
            view_size=(64, 64),
        ),
    }


_CONFIGS: dict[str, ModelConfig] | None = None


def _registry() -> dict[str, ModelConfig]:
    global _CONFIGS
    if _CONFIGS is None:
        _CONFIGS = _build()
    return _CONFIGS


def get_config(name: str) -> ModelConfig:
    """The named :class:`ModelConfig`; KeyError with the valid names otherwise."""
    registry = _registry()
    if name not in registry:
        raise KeyError(f"unknown config {name!r}; valid: {', '.join(registry)}")
    return registry[name]


def config_names() -> list[str]:
    return list(_registry())


def __getattr__(name: str):
    if name == "CONFIGS":
        return _registry()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Configs of the DreamZero JAX port: one per component (``dit``, ``vae``, ``t5``, ``clip``) plus the
composed :class:`ModelConfig` registry used by the CLIs, training and the policy.

``CONFIGS`` maps a name to a :class:`ModelConfig`; ``get_config(name)`` looks one up:

* ``tiny``      -- the reference fixtures' scale (parity tests; runs on one CPU core).
* ``small``     -- the model trained in this repository on simulated demonstrations and shipped as the
  default ``dreamzero`` policy (sized for a 2-core CPU; see docs/decisions.md).
* ``small_p2``  -- ``small`` with 2x2 patches (4x the visual tokens); measured, not shipped.
* ``bench``     -- the inference benchmark's mid-sized DiT.
* ``droid_14b`` -- DreamZero-DROID's real values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp

from dreamzero_jax.configs.clip import CLIP_CONFIGS, CLIPConfig
from dreamzero_jax.configs.dit import DIT_CONFIGS, DiTConfig
from dreamzero_jax.configs.t5 import T5_CONFIGS, T5Config
from dreamzero_jax.configs.vae import VAE_CONFIGS, VAEConfig

COMPONENT_NAMES = ("dit", "vae", "t5", "clip")
COMPONENT_TYPES: dict[str, type] = {"dit": DiTConfig, "vae": VAEConfig, "t5": T5Config, "clip": CLIPConfig}


@dataclass(frozen=True)
class ModelConfig:
    """Everything a DreamZero policy needs: component configs and the head's inference settings."""

    name: str
    dit: DiTConfig | None = None
    vae: VAEConfig | None = None
    t5: T5Config | None = None
    clip: CLIPConfig | None = None
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
    # Standard deviation of the chunk's initial noise (upstream: 1). Below 1 samples at a lower
    # temperature: the episode's one noise draw pulls every chunk less far from the model's mean
    noise_scale: float = 1.0
    # The first N action dims are predicted relative to the same state dims at the policy call (upstream's
    # "relative" DROID action mode); 0 = absolute targets (DreamZero-DROID's default)
    relative_action_dims: int = 0

    def component(self, name: str):
        """The config of component ``name`` (None if the config has no such component)."""
        if name not in COMPONENT_NAMES:
            raise KeyError(f"unknown component {name!r}; valid: {', '.join(COMPONENT_NAMES)}")
        return getattr(self, name)

    @property
    def latent_frames(self) -> int:
        return (self.num_frames - 1) // 4 + 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (tuples as lists, dtypes by name); :meth:`from_dict` inverts it exactly."""
        return _to_jsonable(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config written by :meth:`to_dict`; unknown keys raise ``ValueError``."""
        parts = {
            name: None if data.get(name) is None else _from_jsonable(COMPONENT_TYPES[name], data[name])
            for name in COMPONENT_NAMES
        }
        rest = {k: v for k, v in data.items() if k not in COMPONENT_NAMES}
        return _from_jsonable(cls, rest, **parts)


_DTYPES = (type(jnp.float32), jnp.dtype)  # how configs spell a dtype: jnp.float32 or jnp.dtype(...)


def _to_jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj):
        return {f.name: _to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [_to_jsonable(v) for v in obj]
    if isinstance(obj, _DTYPES):  # e.g. jnp.float32
        return jnp.dtype(obj).name
    return obj


def _from_jsonable(cls: type, data: dict[str, Any], **given: Any) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown field(s) {unknown}")
    kwargs = dict(given)
    for name, value in data.items():
        default = fields[name].default
        if isinstance(default, tuple):
            value = tuple(value)
        elif isinstance(default, _DTYPES):
            value = getattr(jnp, value)
        kwargs[name] = value
    return cls(**kwargs)


def _small(patch: int = 4) -> ModelConfig:
    # 3 views of 64x96 -> a 128x192 canvas -> 16x24 latents -> 4x6 tokens per frame with 4x4 patches. One
    # latent frame per block and a window of one block: every policy call conditions on the current frame
    # (and the state) and predicts the next block of video with the next 8 actions.
    dit = dataclasses.replace(
        DIT_CONFIGS["tiny"],
        patch_size=(1, patch, patch),
        frame_seqlen=(16 // patch) * (24 // patch),
        dim=128,
        ffn_dim=384,
        freq_dim=64,
        num_heads=4,
        num_layers=4,
        max_chunk_size=1,
        num_frame_per_block=1,
        action_dim=8,
        max_state_dim=8,
        hidden_size=128,
        num_action_per_block=8,
    )
    return ModelConfig(
        name="small" if patch == 4 else f"small_p{patch}",
        dit=dit,
        # joint targets as offsets from the state at the call (upstream's relative mode): a small DiT
        # copies a state value through attention poorly, and an absolute target carried that error
        relative_action_dims=7,
        vae=VAE_CONFIGS["tiny"],
        t5=T5_CONFIGS["tiny"],
        clip=None,  # no 1280-wide image encoder: a fixed image-feature stand-in, stored with the weights
        cfg_scale=1.0,
        # deterministic sampling: the chunk noise is drawn once per episode, so at temperature 1 each
        # episode's draw biases every chunk the same way (5/20 -> 10/20 on Lift: docs/decisions.md)
        noise_scale=0.0,
        action_horizon=8,
        num_frames=5,
        view_size=(64, 96),
    )


CONFIGS: dict[str, ModelConfig] = {
    # the fixtures' sizes: 17 frames of 3 views of 32x48 -> 5 latent frames of 8x12
    "tiny": ModelConfig(
        "tiny",
        DIT_CONFIGS["tiny"],
        VAE_CONFIGS["tiny"],
        T5_CONFIGS["tiny"],
        CLIP_CONFIGS["tiny"],
        action_horizon=4,
        num_frames=17,
        view_size=(32, 48),
    ),
    "small": _small(),
    # the same model with 2x2 patches: 8x12 tokens per frame (2x3 -> 4x6 per view), for the cube's position
    "small_p2": _small(patch=2),
    "droid_14b": ModelConfig(
        "droid_14b",
        DIT_CONFIGS["droid_14b"],
        VAE_CONFIGS["droid_14b"],
        T5_CONFIGS["droid_14b"],
        CLIP_CONFIGS["droid_14b"],
    ),
    # the benchmark DiT (dim 256, 64 tokens per frame = 16x16 latents = 128x128 pixels); the tiny VAE works
    # at any size, but no text/image encoder matches its widths, so the benchmark feeds random prompt and
    # CLIP embeddings instead
    "bench": ModelConfig(
        "bench",
        DIT_CONFIGS["bench"],
        VAE_CONFIGS["tiny"],
        action_horizon=32,
        num_frames=17,
        view_size=(64, 64),
    ),
}


def get_config(name: str) -> ModelConfig:
    """The named :class:`ModelConfig`; KeyError with the valid names otherwise."""
    if name not in CONFIGS:
        raise KeyError(f"unknown config {name!r}; valid: {', '.join(CONFIGS)}")
    return CONFIGS[name]


def config_names() -> list[str]:
    return list(CONFIGS)

"""`EnvConfig`: every option of an environment besides its task, with the defaults written once.

`envs.make(task, **overrides)` starts from `EnvConfig()` (or a given config) and replaces the named fields;
`DroidEnv` takes the resulting config; the eval runner's suite loader reads its defaults from here too.

    >>> cfg = EnvConfig(cameras=(), variations={"distractors": 2})  # doctest: +SKIP
    >>> cfg.replace(embodiment="iiwa").variations.distractors  # doctest: +SKIP
    2
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, field
from typing import Any

from envs.action_spaces import get_action_space
from envs.cameras import DROID_CAMERAS, validate_cameras
from envs.robots import get_embodiment
from envs.variations import Variations, parse_variations

RENDER_MODES = ("rgb_array",)


@dataclass(frozen=True)
class EnvConfig:
    """Validated, immutable environment options; bad values raise `ValueError` naming the field.

    `cameras` and `image_size` also accept lists (as read from JSON) and `variations` a dict or None (see
    envs/FRAMEWORK.md); they are stored as tuples and a parsed `Variations`.
    """

    embodiment: str = "panda"
    cameras: tuple[str, ...] = DROID_CAMERAS
    image_size: tuple[int, int] = (180, 320)  # (height, width) of every camera image
    action_space: str = "joint_position"
    variations: Variations = field(default_factory=Variations)
    control_freq: int = 15  # Hz
    horizon: int | None = None  # control steps; None = the task's default horizon
    render_mode: str | None = None  # None or "rgb_array"

    def __post_init__(self) -> None:
        get_embodiment(self.embodiment)
        get_action_space(self.action_space)
        # Normalise the JSON/dict spellings once, so the stored config is hashable and typed.
        object.__setattr__(self, "cameras", validate_cameras(self.cameras))
        object.__setattr__(self, "image_size", _image_size(self.image_size))
        if not isinstance(self.variations, Variations):
            object.__setattr__(self, "variations", parse_variations(self.variations))
        if self.render_mode is not None and self.render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(RENDER_MODES)}, got {self.render_mode!r}"
            )
        for name in ("control_freq", "horizon"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
            object.__setattr__(self, name, int(value))

    def replace(self, **overrides: Any) -> EnvConfig:
        """A copy with the named fields replaced; an unknown name raises `ValueError` listing the valid ones."""
        unknown = sorted(set(overrides) - set(field_names()))
        if unknown:
            raise ValueError(f"unknown env option {unknown[0]!r}; valid options: {list(field_names())}")
        return dataclasses.replace(self, **overrides)


def field_names() -> tuple[str, ...]:
    """Names of the `EnvConfig` fields, in declaration order (the keywords `envs.make` accepts)."""
    return tuple(f.name for f in dataclasses.fields(EnvConfig))


def _image_size(size: Any) -> tuple[int, int]:
    try:
        height, width = (int(s) for s in size)
    except (TypeError, ValueError):
        height = width = 0
    if height <= 0 or width <= 0:
        raise ValueError(f"image_size must be (height, width) with positive entries, got {size!r}")
    return height, width

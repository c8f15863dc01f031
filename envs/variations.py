"""Seeded scene variations: object pose ranges, distractors, camera jitter, lighting, table colour.

`parse_variations` validates the user's dict once at `make` time. `ModelVariator` snapshots the compiled model's
nominal camera/light/table values and, at every reset, restores them and applies freshly sampled values, so the
result depends only on the episode's random stream and never on earlier episodes.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np

TABLE_COLOURS: dict[str, tuple[float, float, float]] = {
    "white": (0.92, 0.92, 0.90),
    "grey": (0.5, 0.5, 0.5),
    "black": (0.12, 0.12, 0.12),
    "wood": (0.55, 0.38, 0.22),
    "beige": (0.85, 0.78, 0.62),
    "blue": (0.25, 0.35, 0.65),
    "green": (0.3, 0.55, 0.3),
    "red": (0.6, 0.2, 0.2),
}
_KEYS = ("object_pose", "distractors", "camera_jitter", "lighting", "table_texture")
_POSE_KEYS = ("xy_range", "yaw_range")
_JITTER_KEYS = ("pos", "rot")
MAX_DISTRACTORS = 8


@dataclass(frozen=True)
class Variations:
    """Validated variation settings; `None` pose ranges mean "the task's default"."""

    xy_range: float | None = None
    yaw_range: float | None = None
    distractors: int = 0
    cam_pos_std: float = 0.0
    cam_rot_std: float = 0.0
    lighting: float = 0.0
    table_texture: str | None = None  # None = arena default, "random", or a TABLE_COLOURS name


def _number(value, key: str, lo: float = 0.0, hi: float = float("inf")) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= float(value) <= hi:
        raise ValueError(f"variations[{key!r}] must be a number in [{lo}, {hi}], got {value!r}")
    return float(value)


def _subdict(value, key: str, allowed: tuple[str, ...]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"variations[{key!r}] must be a dict with keys {list(allowed)}, got {value!r}")
    for sub in value:
        if sub not in allowed:
            raise ValueError(f"unknown variation key {key}.{sub!r}; valid keys: {list(allowed)}")
    return value


def parse_variations(variations: dict | None) -> Variations:
    """Validate a variations dict (see envs/FRAMEWORK.md); unknown keys raise `ValueError` naming the key."""
    if variations is None:
        return Variations()
    if not isinstance(variations, dict):
        raise ValueError(f"variations must be a dict or None, got {type(variations).__name__}")
    for key in variations:
        if key not in _KEYS:
            raise ValueError(f"unknown variation key {key!r}; valid keys: {list(_KEYS)}")
    pose = _subdict(variations.get("object_pose"), "object_pose", _POSE_KEYS)
    jitter = _subdict(variations.get("camera_jitter"), "camera_jitter", _JITTER_KEYS)
    count = variations.get("distractors") or 0
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_DISTRACTORS:
        raise ValueError(f"variations['distractors'] must be an int in [0, {MAX_DISTRACTORS}], got {count!r}")
    texture = variations.get("table_texture")
    if texture is True:
        texture = "random"
    elif texture is False:
        texture = None
    if texture is not None and texture != "random" and texture not in TABLE_COLOURS:
        raise ValueError(
            f"variations['table_texture'] must be a bool, 'random' or one of {sorted(TABLE_COLOURS)}, got {texture!r}"
        )
    return Variations(
        xy_range=None
        if pose.get("xy_range") is None
        else _number(pose["xy_range"], "object_pose.xy_range", 0, 0.3),
        yaw_range=None
        if pose.get("yaw_range") is None
        else _number(pose["yaw_range"], "object_pose.yaw_range", 0, np.pi),
        distractors=count,
        cam_pos_std=_number(jitter.get("pos", 0.0), "camera_jitter.pos", 0, 0.2),
        cam_rot_std=_number(jitter.get("rot", 0.0), "camera_jitter.rot", 0, 0.5),
        lighting=_number(variations.get("lighting") or 0.0, "lighting", 0, 1),
        table_texture=texture,
    )


def _small_rotation(rng: np.random.Generator, std: float) -> tuple[np.ndarray, np.ndarray]:
    angles = rng.normal(0.0, std, size=3) if std > 0 else np.zeros(3)
    quat = np.zeros(4)
    angle = float(np.linalg.norm(angles))
    mujoco.mju_axisAngle2Quat(quat, angles / angle if angle > 0 else np.array([0.0, 0.0, 1.0]), angle)
    return quat, angles


class ModelVariator:
    """Applies camera jitter, lighting and table colour to a compiled MuJoCo model at reset."""

    def __init__(self, model, variations: Variations, jitter_cameras: tuple[str, ...], table_geom: str):
        self.model = model
        self.v = variations
        self._cam_ids = [model.camera(name).id for name in jitter_cameras]
        self._cam_pos = model.cam_pos[self._cam_ids].copy()
        self._cam_quat = model.cam_quat[self._cam_ids].copy()
        self._light_diffuse = model.light_diffuse.copy()
        self._light_pos = model.light_pos.copy()
        self._light_dir = model.light_dir.copy()
        self._table = model.geom(table_geom).id
        self._table_rgba = model.geom_rgba[self._table].copy()
        self._table_matid = int(model.geom_matid[self._table])

    def apply(self, rng_camera, rng_light, rng_table) -> dict[str, float | int | str]:
        """Restore nominal values, apply fresh samples, and return them as flat `info["variations"]` entries."""
        m, v, out = self.model, self.v, {}
        for i, cid in enumerate(self._cam_ids):
            offset = rng_camera.normal(0.0, v.cam_pos_std, size=3) if v.cam_pos_std > 0 else np.zeros(3)
            dquat, angles = _small_rotation(rng_camera, v.cam_rot_std)
            m.cam_pos[cid] = self._cam_pos[i] + offset
            quat = np.zeros(4)
            mujoco.mju_mulQuat(quat, self._cam_quat[i], dquat)
            m.cam_quat[cid] = quat
            for axis, d in zip("xyz", offset, strict=True):
                out[f"camera_jitter.cam{i}_d{axis}"] = float(d)
            for axis, a in zip("xyz", angles, strict=True):
                out[f"camera_jitter.cam{i}_r{axis}"] = float(a)
        scale = 1.0 + v.lighting * rng_light.uniform(-0.6, 0.6)
        shift = v.lighting * rng_light.uniform(-1.0, 1.0, size=2)
        m.light_diffuse[:] = np.clip(self._light_diffuse * scale, 0.0, 1.0)
        m.light_pos[:] = self._light_pos
        m.light_pos[:, :2] += shift
        direction = self._light_dir.copy()
        direction[:, :2] += 0.5 * shift
        m.light_dir[:] = direction / np.linalg.norm(direction, axis=1, keepdims=True)
        out.update(
            {"lighting.diffuse": float(scale), "lighting.dx": float(shift[0]), "lighting.dy": float(shift[1])}
        )
        m.geom_rgba[self._table] = self._table_rgba
        m.geom_matid[self._table] = self._table_matid
        if v.table_texture is not None:
            if v.table_texture == "random":
                rgb = rng_table.uniform(0.1, 0.95, size=3)
            else:
                rgb = np.asarray(TABLE_COLOURS[v.table_texture])
            # Drop the wood material so the plain colour is what the cameras see.
            m.geom_matid[self._table] = -1
            m.geom_rgba[self._table] = (*rgb, 1.0)
        rgba = m.geom_rgba[self._table]
        out.update(
            {"table_rgba_r": float(rgba[0]), "table_rgba_g": float(rgba[1]), "table_rgba_b": float(rgba[2])}
        )
        out["table_texture"] = v.table_texture or "default"
        return out

"""Task objects built from MuJoCo primitives: containers (bowl, mug, bin), a banana-like fruit, distractors.

Every object's body frame is upright (z up) so tasks place them with a position and a yaw only.
"""

from __future__ import annotations

import numpy as np
from robosuite.models.objects import BallObject, BoxObject, CompositeObject, CylinderObject
from robosuite.utils.mjcf_utils import add_to_dict


def _yaw_quat(yaw: float) -> tuple[float, float, float, float]:
    return (float(np.cos(yaw / 2)), 0.0, 0.0, float(np.sin(yaw / 2)))


def _capsule_quat(yaw: float) -> tuple[float, float, float, float]:
    """wxyz quat turning a capsule's z axis horizontal (about y) then yawing it about world z."""
    w1, y1 = np.cos(np.pi / 4), np.sin(np.pi / 4)  # 90 deg about y
    w2, z2 = np.cos(yaw / 2), np.sin(yaw / 2)
    # q = q_yaw * q_y  (Hamilton product with q_y = (w1, 0, y1, 0), q_yaw = (w2, 0, 0, z2))
    return (float(w2 * w1), float(-z2 * y1), float(w2 * y1), float(z2 * w1))


class Container(CompositeObject):
    """An open-top container: a floor plus `sides` wall slabs around a polygon (round) or 4 walls (box).

    `inner_half_width` is the radius (round) or half side (box) of the free space inside; `height` the wall height.
    Mugs get a handle on +x.
    """

    def __init__(
        self,
        name: str,
        inner_half_width: float,
        height: float,
        rgba,
        sides: int = 12,
        wall: float = 0.008,
        handle: bool = False,
        density: float = 500.0,
    ):
        self.inner_half_width = inner_half_width
        self.height = height
        self.wall = wall
        outer = inner_half_width + wall
        args: dict = {}
        add_to_dict(
            dic=args,
            geom_types="box" if sides == 4 else "cylinder",
            geom_locations=(0, 0, -height / 2 + wall / 2),
            geom_quats=(1, 0, 0, 0),
            geom_sizes=(outer, outer, wall / 2) if sides == 4 else (outer, wall / 2),
            geom_names="floor",
            geom_rgbas=rgba,
            geom_frictions=(1.0, 0.005, 0.0001),
        )
        # Slab half-length covering one polygon side of the inner radius (for 4 sides: the full box side).
        half_len = outer if sides == 4 else (inner_half_width + wall) * np.tan(np.pi / sides) + 1e-3
        for i in range(sides):
            angle = 2 * np.pi * i / sides
            r = inner_half_width + wall / 2
            add_to_dict(
                dic=args,
                geom_types="box",
                geom_locations=(r * np.cos(angle), r * np.sin(angle), 0),
                geom_quats=_yaw_quat(angle),
                geom_sizes=(wall / 2, half_len, height / 2),
                geom_names=f"wall{i}",
                geom_rgbas=rgba,
                geom_frictions=(1.0, 0.005, 0.0001),
            )
        extent = outer
        if handle:
            add_to_dict(
                dic=args,
                geom_types="box",
                geom_locations=(outer + 0.02, 0, 0),
                geom_quats=(1, 0, 0, 0),
                geom_sizes=(0.02, 0.006, height * 0.3),
                geom_names="handle",
                geom_rgbas=rgba,
                geom_frictions=(1.0, 0.005, 0.0001),
            )
            extent = outer + 0.04
        super().__init__(
            name=name,
            total_size=(extent, extent, height / 2),
            locations_relative_to_center=True,
            density=density,
            **args,
        )


class Banana(CompositeObject):
    """A banana-like fruit: three capsules along a gentle arc, lying flat; the long axis is the body's x axis."""

    def __init__(self, name: str, radius: float = 0.017, segment: float = 0.035, rgba=(0.95, 0.85, 0.2, 1)):
        self.radius = radius
        args: dict = {}
        bend = 0.35
        for i, dx in enumerate((-1, 0, 1)):
            x = dx * segment * 1.9 / 2
            y = -abs(dx) * segment * 0.3
            add_to_dict(
                dic=args,
                geom_types="capsule",
                geom_locations=(x, y, 0),
                geom_quats=_capsule_quat(-dx * bend),  # end segments slope towards the middle: an arc
                geom_sizes=(radius, segment / 2),
                geom_names=f"seg{i}",
                geom_rgbas=rgba,
                geom_frictions=(1.5, 0.005, 0.0001),
            )
        half = segment * 1.9 / 2 + segment / 2 + radius
        super().__init__(
            name=name,
            total_size=(half, half, radius),
            locations_relative_to_center=True,
            density=400.0,
            **args,
        )


# Fixed per-index shape/colour so the model (and its fingerprint) depends only on the distractor count.
_DISTRACTOR_COLOURS = ((0.2, 0.4, 0.9, 1), (0.9, 0.5, 0.1, 1), (0.6, 0.2, 0.7, 1), (0.2, 0.7, 0.7, 1))


def make_distractors(count: int) -> list:
    """`count` small primitive objects (box / cylinder / ball cycling) named distractor0...; each has a free joint."""
    out = []
    for i in range(count):
        rgba = _DISTRACTOR_COLOURS[i % len(_DISTRACTOR_COLOURS)]
        kind = i % 3
        if kind == 0:
            out.append(BoxObject(f"distractor{i}", size=(0.018, 0.025, 0.02), rgba=rgba))
        elif kind == 1:
            out.append(CylinderObject(f"distractor{i}", size=(0.02, 0.025), rgba=rgba))
        else:
            out.append(BallObject(f"distractor{i}", size=(0.022,), rgba=rgba))
    return out

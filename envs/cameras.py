"""DROID-like camera rig: two exterior cameras left/right of the table looking at the workspace, one wrist camera.

Exterior cameras are added to the arena at model-build time; the wrist camera is robosuite's `eye_in_hand` camera
that every robosuite arm mounts on its hand. Jitter is applied to the compiled model at reset (no XML rebuild).
"""

from __future__ import annotations

import atexit
import weakref
from dataclasses import dataclass

import mujoco
import numpy as np

DROID_CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
WRIST_CAMERA = "wrist_image_left"
WRIST_MJ_CAMERA = "robot0_eye_in_hand"


@dataclass(frozen=True)
class ExteriorCamera:
    """A fixed camera placed at `pos` (world frame) aimed at `target`."""

    name: str
    pos: tuple[float, float, float]
    target: tuple[float, float, float]
    fovy: float = 60.0


# The table top is centred at the origin, 0.8 m high; the robot base sits at x ~ -0.56 facing +x.
# DROID's exterior ZED cameras stand beside the robot, one on each side, looking down at the workspace.
EXTERIOR_CAMERAS = (
    ExteriorCamera("exterior_image_0_left", pos=(0.10, 0.55, 1.25), target=(-0.08, 0.0, 0.86)),
    ExteriorCamera("exterior_image_1_left", pos=(0.10, -0.55, 1.25), target=(-0.08, 0.0, 0.86)),
)


def look_at_quat(pos, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """wxyz quaternion of a MuJoCo camera (looks along its -z, y up) at `pos` aimed at `target`."""
    forward = np.asarray(target, float) - np.asarray(pos, float)
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, up)
    right /= np.linalg.norm(right)
    z_axis = -forward
    y_axis = np.cross(z_axis, right)
    mat = np.stack([right, y_axis, z_axis], axis=1)
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, mat.reshape(-1))
    return quat


def add_exterior_cameras(arena) -> None:
    """Add the exterior cameras to a robosuite arena before the model is compiled."""
    for cam in EXTERIOR_CAMERAS:
        arena.set_camera(cam.name, cam.pos, look_at_quat(cam.pos, cam.target), {"fovy": str(cam.fovy)})


def mujoco_camera_name(obs_name: str) -> str:
    """The MuJoCo camera that renders the DROID observation key `obs_name`."""
    return WRIST_MJ_CAMERA if obs_name == WRIST_CAMERA else obs_name


def validate_cameras(cameras) -> tuple[str, ...]:
    """Check a camera subset; returns it as a tuple in the caller's order."""
    cameras = tuple(cameras)
    for cam in cameras:
        if cam not in DROID_CAMERAS:
            raise ValueError(f"unknown camera {cam!r}; valid cameras: {list(DROID_CAMERAS)}")
    if len(set(cameras)) != len(cameras):
        raise ValueError(f"cameras must not repeat: {list(cameras)}")
    return cameras


_LIVE_RENDERERS: weakref.WeakSet = weakref.WeakSet()
_ATEXIT_REGISTERED = False


def _close_live_renderers() -> None:
    # Free GL contexts before interpreter shutdown tears down EGL; otherwise mujoco's __del__ prints EGL errors.
    for renderer in list(_LIVE_RENDERERS):
        renderer.close()


def _register_atexit() -> None:
    # Registered after the first GL context exists, so (atexit being LIFO) it runs before mujoco's EGL teardown.
    global _ATEXIT_REGISTERED
    if not _ATEXIT_REGISTERED:
        atexit.register(_close_live_renderers)
        _ATEXIT_REGISTERED = True


class CameraRenderer:
    """Renders the requested cameras with one `mujoco.Renderer` (one GL context) shared by all of them."""

    def __init__(self, model, cameras: tuple[str, ...], image_size: tuple[int, int]):
        self.cameras = cameras
        self.height, self.width = image_size
        self._ids = [model.camera(mujoco_camera_name(c)).id for c in cameras]
        # The offscreen buffer must hold the requested image; robosuite's models default to 640x480.
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, self.width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, self.height)
        self._renderer = mujoco.Renderer(model, self.height, self.width) if cameras else None
        # Show visual geoms only (robosuite keeps collision geoms in group 0) and no helper sites.
        self._option = mujoco.MjvOption()
        self._option.geomgroup[0] = 0
        self._option.sitegroup[:] = 0
        if cameras:
            _LIVE_RENDERERS.add(self)
            _register_atexit()

    def render(self, data) -> dict[str, np.ndarray]:
        """One image per requested camera, uint8 HxWx3, rendered from the current `data`."""
        images = {}
        for name, cam_id in zip(self.cameras, self._ids, strict=True):
            self._renderer.update_scene(data, camera=cam_id, scene_option=self._option)
            images[name] = self._renderer.render()
        return images

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

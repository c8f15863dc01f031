"""DROID-style table-top manipulation tasks in MuJoCo/robosuite as Gymnasium environments.

import envs
envs.list_tasks(); envs.list_embodiments(); envs.task_info("CubeInBowl")
env = envs.make("CubeInBowl", "panda", cameras=(), action_space="joint_position")
gymnasium.make("dreamzero/CubeInBowl-v0", embodiment="panda")
"""

from __future__ import annotations

import os

# Headless rendering must be chosen before mujoco/robosuite are imported anywhere.
os.environ.setdefault("MUJOCO_GL", "egl")
if os.environ["MUJOCO_GL"] == "egl":
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import hashlib
import inspect
import logging
import sys
from functools import partial

# robosuite warns at import about optional extras we do not use (private macros, mink IK, robosuite_models).
# A logger filter survives robosuite resetting its logger's level; other robosuite messages still show.
_IMPORT_NOISE = ("private macro file", "setup_macros.py", "robosuite_models", "mink-based whole-body IK")
logging.getLogger("robosuite_logs").addFilter(
    lambda record: not any(s in record.getMessage() for s in _IMPORT_NOISE)
)

import gymnasium  # noqa: E402

from envs.action_spaces import ACTION_SPACES  # noqa: E402
from envs.base import DroidEnv  # noqa: E402
from envs.cameras import DROID_CAMERAS  # noqa: E402
from envs.registry import TASKS  # noqa: E402
from envs.robots import EMBODIMENTS  # noqa: E402

__all__ = ["DroidEnv", "list_action_spaces", "list_embodiments", "list_tasks", "make", "task_info"]
GYM_NAMESPACE = "dreamzero"


def list_tasks() -> list[str]:
    """Names of all registered tasks, in registry order."""
    return list(TASKS)


def list_embodiments() -> list[str]:
    """Names of the supported robot embodiments ("panda" first: the DROID robot and the default)."""
    return list(EMBODIMENTS)


def list_action_spaces() -> list[str]:
    return list(ACTION_SPACES)


def _task(task: str):
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid tasks: {list(TASKS)}")
    return TASKS[task]()


def _fingerprint(task_obj) -> str:
    """sha256 of the task's definition: its config repr plus the source of its task module."""
    source = inspect.getsource(sys.modules[type(task_obj).__module__])
    return hashlib.sha256((repr(task_obj.config) + "\n" + source).encode()).hexdigest()


def task_info(task: str) -> dict:
    """Language, horizon, description and definition fingerprint of a task (no simulator is built)."""
    t = _task(task)
    cfg = t.config
    return {
        "name": cfg.name,
        "family": cfg.family,
        "default_instruction": cfg.instruction,
        "paraphrases": list(cfg.paraphrases),
        "default_horizon": cfg.horizon,
        "fingerprint": _fingerprint(t),
        "description": cfg.description,
    }


def make(
    task: str,
    embodiment: str = "panda",
    *,
    cameras=DROID_CAMERAS,
    image_size: tuple[int, int] = (180, 320),
    action_space: str = "joint_position",
    variations: dict | None = None,
    control_freq: int = 15,
    horizon: int | None = None,
    render_mode: str | None = None,
) -> DroidEnv:
    """Build a task environment; unknown task/embodiment/action_space/camera/variation raise `ValueError`."""
    t = _task(task)
    if embodiment not in EMBODIMENTS:
        raise ValueError(f"unknown embodiment {embodiment!r}; valid embodiments: {list(EMBODIMENTS)}")
    if action_space not in ACTION_SPACES:
        raise ValueError(f"unknown action_space {action_space!r}; valid action spaces: {list(ACTION_SPACES)}")
    return DroidEnv(
        t,
        embodiment,
        cameras=cameras,
        image_size=image_size,
        action_space=action_space,
        variations=variations,
        control_freq=control_freq,
        horizon=horizon,
        render_mode=render_mode,
        fingerprint=_fingerprint(t),
    )


def _register() -> None:
    for name in TASKS:
        env_id = f"{GYM_NAMESPACE}/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=partial(make, name))


_register()

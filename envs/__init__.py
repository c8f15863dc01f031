"""DROID-style table-top manipulation tasks in MuJoCo/robosuite as Gymnasium environments.

import envs
envs.list_tasks(); envs.list_embodiments(); envs.task_info("CubeInBowl")
env = envs.make("CubeInBowl", "panda", cameras=(), action_space="joint_position")
env = envs.make("CubeInBowl", config=envs.EnvConfig(cameras=()))   # the same options as data
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
from envs.config import EnvConfig  # noqa: E402
from envs.registry import TASKS, TaskEntry, get_task  # noqa: E402
from envs.robots import EMBODIMENTS  # noqa: E402

__all__ = [
    "DroidEnv",
    "EnvConfig",
    "TaskEntry",
    "list_action_spaces",
    "list_embodiments",
    "list_tasks",
    "make",
    "task_info",
]
GYM_NAMESPACE = "dreamzero"


def list_tasks() -> list[str]:
    """Names of all registered tasks, in registry order."""
    return list(TASKS)


def list_embodiments() -> list[str]:
    """Names of the supported robot embodiments ("panda" first: the DROID robot and the default)."""
    return list(EMBODIMENTS)


def list_action_spaces() -> list[str]:
    return list(ACTION_SPACES)


def _fingerprint(entry: TaskEntry) -> str:
    """sha256 of the task's definition: its config repr plus the source of its task module."""
    source = inspect.getsource(sys.modules[entry.task_class.__module__])
    return hashlib.sha256((repr(entry.config) + "\n" + source).encode()).hexdigest()


def task_info(task: str) -> dict:
    """Language, horizon, description and definition fingerprint of a task (no simulator is built)."""
    entry = get_task(task)
    cfg = entry.config
    return {
        "name": cfg.name,
        "family": cfg.family,
        "default_instruction": cfg.instruction,
        "paraphrases": list(cfg.paraphrases),
        "default_horizon": cfg.horizon,
        "fingerprint": _fingerprint(entry),
        "description": cfg.description,
    }


def make(
    task: str, embodiment: str | None = None, *, config: EnvConfig | None = None, **overrides
) -> DroidEnv:
    """Build a task environment from `config` (default `EnvConfig()`) with keyword overrides of its fields.

    `make("Lift", "iiwa", cameras=())` == `make("Lift", config=EnvConfig(embodiment="iiwa", cameras=()))`.
    Unknown tasks, options or option values raise `ValueError`.
    """
    entry = get_task(task)
    if embodiment is not None:
        overrides["embodiment"] = embodiment
    env_config = (config if config is not None else EnvConfig()).replace(**overrides)
    return DroidEnv(entry.build(), env_config, fingerprint=_fingerprint(entry))


def _register() -> None:
    for name in TASKS:
        env_id = f"{GYM_NAMESPACE}/{name}-v0"
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=partial(make, name))


_register()

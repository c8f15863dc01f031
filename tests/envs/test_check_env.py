"""Every registered task passes Gymnasium's env checker (cameras off); one task also with cameras on."""

from __future__ import annotations

import warnings

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import envs

# DROID's action is absolute joint radians, so the RL-tips advice to normalise Box actions does not apply.
RL_TIP = ".*symmetric and normalized space.*"


def _check(env, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker reports most problems as warnings: make them failures
        warnings.filterwarnings("ignore", message=RL_TIP)
        check_env(env, **kwargs)


@pytest.mark.parametrize("task", envs.list_tasks())
def test_check_env_cameras_off(task):
    env = envs.make(task, cameras=())
    _check(env, skip_render_check=True)
    env.close()


def test_check_env_cameras_on_and_render():
    # Through gymnasium.make so the env has a spec and the checker can also exercise the render modes.
    env = gymnasium.make("dreamzero/CubeInBowl-v0", image_size=(36, 64), render_mode="rgb_array").unwrapped
    _check(env)
    env.close()


@pytest.mark.parametrize("embodiment", envs.list_embodiments())
def test_check_env_each_embodiment(embodiment):
    env = envs.make("Lift", embodiment, cameras=("wrist_image_left",), image_size=(36, 64))
    _check(env, skip_render_check=True)
    env.close()

"""Scripted experts succeed (a few seeds, cameras off); baselines do not. The 50-seed table lives in docs/tasks.md."""

from __future__ import annotations

import pytest

import envs
from envs.experts import ZeroAgent, make_expert
from envs.experts.evaluate import rollout, run_cell

MY_TASKS = ("Lift", "CubeInBowl", "CanInMug", "FruitInBin")


def run_episode(env, agent, seed: int) -> bool:
    return rollout(env, agent, seed)[0]


@pytest.mark.parametrize("task", MY_TASKS)
def test_expert_succeeds_panda(task):
    env = envs.make(task, cameras=())
    expert = make_expert(env)
    assert all(run_episode(env, expert, seed) for seed in (0, 1))
    env.close()


@pytest.mark.parametrize("embodiment", ["iiwa", "kinova3"])
def test_expert_succeeds_other_embodiments(embodiment):
    env = envs.make("CubeInBowl", embodiment, cameras=())
    assert run_episode(env, make_expert(env), seed=2)
    env.close()


@pytest.mark.parametrize("space", ["joint_velocity", "cartesian_velocity"])
def test_expert_succeeds_other_action_spaces(space):
    env = envs.make("Lift", cameras=(), action_space=space)
    assert run_episode(env, make_expert(env), seed=3)
    env.close()


def test_zero_agent_never_succeeds():
    env = envs.make("CubeInBowl", cameras=(), horizon=40)
    assert not run_episode(env, ZeroAgent(env), seed=0)
    env.close()


def test_unknown_family_has_clear_error():
    env = envs.make("Lift", cameras=())
    object.__setattr__(
        env.unwrapped.task,
        "config",
        env.unwrapped.task.config.__class__(**{**env.unwrapped.task.config.__dict__, "family": "juggling"}),
    )
    with pytest.raises(ValueError, match="juggling"):
        make_expert(env)
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize("embodiment", envs.list_embodiments())
@pytest.mark.parametrize("task", envs.list_tasks())
def test_expert_success_rate_10_seeds(task, embodiment):
    """Every task x embodiment: the expert solves at least 9 of seeds 0..9 (docs/tasks.md has 50 seeds)."""
    cell = run_cell(task, embodiment, seeds=10, agent="expert", action_space="joint_position")
    assert cell["rate"] >= 0.9, cell

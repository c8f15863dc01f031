"""Spaces, registry and validation of the envs contract."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import envs

SMALL = (48, 64)


@pytest.fixture(scope="module")
def lift_env():
    env = envs.make("Lift", cameras=("wrist_image_left",), image_size=SMALL)
    yield env
    env.close()


def test_registry_lists():
    embodiments = envs.list_embodiments()
    assert embodiments[0] == "panda" and len(embodiments) >= 3
    assert set(envs.list_action_spaces()) == {"joint_position", "joint_velocity", "cartesian_velocity"}


def test_observation_layout(lift_env):
    obs, info = lift_env.reset(seed=0)
    assert set(obs) == {"wrist_image_left", "joint_position", "gripper_position", "cartesian_position"}
    assert obs["wrist_image_left"].shape == (*SMALL, 3) and obs["wrist_image_left"].dtype == np.uint8
    assert obs["joint_position"].shape == (7,) and obs["joint_position"].dtype == np.float32
    assert obs["gripper_position"].shape == (1,) and 0.0 <= obs["gripper_position"][0] <= 0.05
    assert obs["cartesian_position"].shape == (6,)
    assert lift_env.observation_space.contains(obs)
    assert (
        info["instruction"] == lift_env.unwrapped.instruction == envs.task_info("Lift")["default_instruction"]
    )
    assert isinstance(info["success"], bool) and 0.0 <= info["progress"] <= 1.0
    assert all(isinstance(v, float | int | str) for v in info["variations"].values())


def test_cartesian_position_is_eef_in_base_frame(lift_env):
    obs, _ = lift_env.reset(seed=0)
    state = lift_env.sim_state()
    np.testing.assert_allclose(obs["cartesian_position"][:3], state["eef_pos"] - state["base_pos"], atol=1e-5)
    # Gripper pointing (nearly) down in robosuite's home pose: roll ~ +-pi, pitch ~ 0.
    assert abs(abs(obs["cartesian_position"][3]) - np.pi) < 0.2 and abs(obs["cartesian_position"][4]) < 0.2


@pytest.mark.parametrize("embodiment", envs.list_embodiments())
def test_spec_info_per_embodiment(embodiment):
    env = envs.make("Lift", embodiment, cameras=())
    info = env.unwrapped.spec_info
    lo, hi = info["joint_limits"]
    assert info["embodiment"] == embodiment and info["dof"] == 7 and info["control_freq"] == 15
    assert info["action_dim"] == 8 == env.action_space.shape[0]
    assert len(lo) == len(hi) == 7 and all(a < b for a, b in zip(lo, hi, strict=True))
    np.testing.assert_allclose(env.action_space.low[:7], lo)
    assert env.action_space.low[7] == 0.0 and env.action_space.high[7] == 1.0
    obs, _ = env.reset(seed=0)
    assert obs["joint_position"].shape == (7,) and env.observation_space.contains(obs)
    env.close()


@pytest.mark.parametrize(("space", "dim"), [("joint_velocity", 8), ("cartesian_velocity", 7)])
def test_other_action_space_dims(space, dim):
    env = envs.make("Lift", action_space=space, cameras=())
    assert env.action_space.shape == (dim,) and env.unwrapped.spec_info["action_dim"] == dim
    env.close()


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"task": "NoSuchTask"}, "valid tasks"),
        ({"task": "Lift", "embodiment": "robonaut"}, "valid embodiments"),
        ({"task": "Lift", "action_space": "torque"}, "valid action spaces"),
        ({"task": "Lift", "cameras": ("frontview",)}, "valid cameras"),
        ({"task": "Lift", "variations": {"gravity": 1}}, "'gravity'"),
        ({"task": "Lift", "variations": {"object_pose": {"z_range": 1}}}, "'z_range'"),
        ({"task": "Lift", "variations": {"distractors": -1}}, "distractors"),
        ({"task": "Lift", "variations": {"table_texture": "plaid"}}, "table_texture"),
    ],
)
def test_make_rejects_bad_arguments(kwargs, needle):
    kwargs = dict(kwargs)
    task = kwargs.pop("task")
    with pytest.raises(ValueError, match=needle):
        envs.make(task, **kwargs)


def test_gymnasium_make_passes_options():
    env = gymnasium.make("dreamzero/Lift-v0", embodiment="kinova3", cameras=(), action_space="joint_velocity")
    assert env.unwrapped.spec_info["embodiment"] == "kinova3"
    assert env.unwrapped.spec_info["action_space"] == "joint_velocity"
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"joint_position", "gripper_position", "cartesian_position"}
    env.close()


def test_variations_are_reported(lift_env):
    env = envs.make(
        "CubeInBowl",
        cameras=(),
        variations={
            "object_pose": {"xy_range": 0.02, "yaw_range": 0.1},
            "distractors": 2,
            "camera_jitter": {"pos": 0.01, "rot": 0.02},
            "lighting": 0.5,
            "table_texture": "random",
        },
    )
    _, info = env.reset(seed=5)
    v = info["variations"]
    assert abs(v["object_pose.dx"]) <= 0.02 and abs(v["object_pose.yaw"]) <= 0.1
    assert v["distractors.count"] == 2 and "distractors.d1_x" in v
    assert v["camera_jitter.cam0_dx"] != 0.0 and v["lighting.diffuse"] != 1.0
    assert v["table_texture"] == "random" and 0.0 < v["table_rgba_r"] < 1.0
    env.close()


def test_render_rgb_array():
    env = envs.make("Lift", cameras=(), image_size=SMALL, render_mode="rgb_array")
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (*SMALL, 3) and frame.dtype == np.uint8 and frame.std() > 0
    env.close()

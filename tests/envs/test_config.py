"""`EnvConfig`: the env options as data, and `envs.make` as "config plus keyword overrides"."""

from __future__ import annotations

import pytest

import envs
from envs import EnvConfig
from envs.variations import Variations


def test_keyword_options_and_config_build_the_same_env():
    by_keywords = envs.make("Lift", "iiwa", cameras=(), image_size=(36, 64), horizon=5)
    config = EnvConfig(embodiment="iiwa", cameras=(), image_size=(36, 64), horizon=5)
    by_config = envs.make("Lift", config=config)
    assert by_keywords.unwrapped.config == by_config.unwrapped.config == config
    assert by_config.unwrapped.horizon == 5 and by_config.unwrapped.spec_info["embodiment"] == "iiwa"
    by_keywords.close()
    by_config.close()


def test_overrides_replace_only_the_named_fields():
    config = EnvConfig(embodiment="kinova3", cameras=(), action_space="joint_velocity", horizon=9)
    env = envs.make("Lift", config=config, horizon=3)
    assert env.unwrapped.config == EnvConfig(
        embodiment="kinova3", cameras=(), action_space="joint_velocity", horizon=3
    )
    assert env.unwrapped.horizon == 3 and env.unwrapped.spec_info["action_space"] == "joint_velocity"
    env.close()


def test_json_spellings_are_normalised_and_hashable():
    from_json = EnvConfig(cameras=["wrist_image_left"], image_size=[36, 64], variations={"distractors": 2})
    typed = EnvConfig(
        cameras=("wrist_image_left",), image_size=(36, 64), variations=Variations(distractors=2)
    )
    assert from_json == typed and hash(from_json) == hash(typed)
    assert EnvConfig(variations=None).variations == Variations()
    assert from_json.replace(embodiment="iiwa").variations.distractors == 2


def test_defaults_are_droid():
    config = EnvConfig()
    assert config.embodiment == envs.list_embodiments()[0] == "panda"
    assert config.cameras == ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
    assert config.image_size == (180, 320) and config.control_freq == 15
    assert config.action_space == "joint_position" and config.horizon is None


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"image_size": (0, 64)}, "image_size"),
        ({"image_size": (36,)}, "image_size"),
        ({"horizon": 0}, "horizon"),
        ({"horizon": True}, "horizon"),
        ({"control_freq": -15}, "control_freq"),
        ({"render_mode": "human"}, "render_mode"),
        ({"camera": ()}, "unknown env option 'camera'"),
        ({"embodiment": "robonaut"}, "valid embodiments"),
    ],
)
def test_bad_options_raise_one_clear_error(overrides, needle):
    with pytest.raises(ValueError, match=needle):
        EnvConfig().replace(**overrides)
    with pytest.raises(ValueError, match=needle):
        envs.make("Lift", **overrides)

"""The episode loop on the fake env: chunking, success, errors recorded (env and policy), camera handling
(rendering on demand), video strides and `--video failures` frames rendered from view states."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import fake_env

from evals.runner.env_cache import EnvCache
from evals.runner.episode import run_episode
from evals.runner.plan import PolicySpec
from evals.runner.spec import EpisodeSpec
from evals.runner.worker import EpisodeWorker, JobConfig


def _spec(
    task="FakeReach", seed=0, horizon=20, stop_on_success=True, cameras=("exterior_image_0_left",), olh=3
):
    return EpisodeSpec(
        suite_name="fake",
        suite_version="1",
        case_index=0,
        case_id=f"{task}_case",
        task=task,
        embodiment="panda",
        instruction="reach",
        seed=seed,
        horizon=horizon,
        open_loop_horizon=olh,
        action_space="joint_position",
        cameras=cameras,
        image_size=(24, 32),
        control_freq=10,
        stop_on_success=stop_on_success,
        variations={"distractors": 2},
        tags=("t",),
    )


def _run(spec, kind="expert", record_video=False, cache=None, **kwargs):
    cache = cache or EnvCache(fake_env.fake_backend())
    return run_episode(spec, fake_env.FakeFactory(kind), record_video=record_video, env_cache=cache, **kwargs)


def test_expert_succeeds_and_stops():
    r = _run(_spec())
    row, steps = r.row, r.steps
    assert row["success"] and row["success_any"] and row["termination_reason"] == "success"
    assert row["steps"] == len(steps["step"]) < 20 and row["sim_seconds"] == row["steps"] / 10
    # open_loop_horizon 3 of 4-action chunks: a call every 3 steps
    assert steps["policy_called"][:4] == [True, False, False, True]
    assert steps["chunk_index"][:4] == [0, 0, 0, 1] and steps["pos_in_chunk"][:4] == [0, 1, 2, 0]
    assert row["policy_calls"] == sum(steps["policy_called"])
    assert steps["policy_latency_ms"][1] is None and steps["policy_latency_ms"][0] > 0
    assert r.variations["distractors.count"] == 2
    assert row["env_seed"] == _spec().env_seed and np.isnan(row["render_ms"])  # no camera rendered


def test_runs_to_horizon_when_not_stopping_on_success():
    r = _run(_spec(horizon=12, stop_on_success=False))
    assert r.row["steps"] == 12 and r.row["termination_reason"] == "horizon"
    assert r.row["success_any"] and r.row["success"]


def test_random_policy_fails_at_horizon():
    r = _run(_spec(horizon=8), kind="random")
    assert not r.row["success"] and r.row["termination_reason"] == "horizon" and r.row["steps"] == 8
    assert r.row["policy_calls"] == 8  # chunks of one action


def test_env_exception_is_recorded_and_env_dropped():
    cache = EnvCache(fake_env.fake_backend())
    r = _run(_spec(task="FakeCrash"), cache=cache)
    assert r.row["termination_reason"] == "error" and not r.row["success"]
    assert r.row["error_type"] == "RuntimeError" and "blow-up" in r.row["error"]
    assert r.row["steps"] == 3 and len(r.steps["action"]) == 3  # steps before the error are kept
    assert cache._envs == {}  # a possibly broken env is never reused
    assert _run(_spec(), cache=cache).row["success"]  # and the next episode is fine


def test_policy_exception_and_nan_guard_are_recorded():
    r = _run(_spec(), kind="raise")
    assert (
        r.row["termination_reason"] == "error" and r.row["error"] == "policy exploded" and r.row["steps"] == 0
    )
    r = _run(_spec(), kind="nan")
    assert r.row["termination_reason"] == "error" and r.row["error_type"] == "PolicyOutputError"
    assert r.row["steps"] == 3  # first chunk executed; the NaN chunk never reached the env


def test_camera_policy_gets_images_and_timing():
    cache = EnvCache(fake_env.fake_backend())
    r = _run(_spec(), kind="camera", cache=cache)
    assert r.row["success"], r.row["error"]
    assert cache.policy_cameras == ("exterior_image_0_left",)
    assert r.row["render_ms"] == 0.25
    assert r.steps["policy_timing"][0] == '{"dit": 3.0, "vae": 1.5}' and r.steps["policy_timing"][1] is None


def test_state_only_policy_renders_no_camera():
    cache = EnvCache(fake_env.fake_backend())
    _run(_spec(), cache=cache)
    assert cache.policy_cameras == ()
    assert all(env.cameras == () for env in cache._envs.values())


def trajectories_match(a, b) -> bool:
    """Same number of steps and bit-identical actions (two runs of one episode are the same rollout)."""
    if len(a.steps["action"]) != len(b.steps["action"]):
        return False
    return all(np.array_equal(x, y) for x, y in zip(a.steps["action"], b.steps["action"], strict=True))


def test_video_frames_and_reset_independence():
    spec = _spec(horizon=6, cameras=("exterior_image_0_left", "wrist_image_left"))
    recorded = _run(spec, kind="random", record_video=True)
    assert len(recorded.frames) == 7 and recorded.frames[0].shape == (24, 64, 3)  # reset + 6 steps, 2 views
    # the same episode after another one on the same (cached) env is identical
    cache = EnvCache(fake_env.fake_backend())
    _run(_spec(seed=5, horizon=6), kind="random", cache=cache)
    again = _run(spec, kind="random", cache=cache)
    assert trajectories_match(recorded, again)


def test_failures_mode_rerenders_failed_state_only_episodes(tmp_path):
    config = JobConfig(
        backend=fake_env.fake_backend(),
        policy=PolicySpec("random"),
        video="failures",
        run_dir=str(tmp_path),
        policy_builder=fake_env.make_fake_factory,
    )
    worker = EpisodeWorker(config)
    r = worker.run(_spec(horizon=5))
    assert (
        r.row["video"] == "videos/FakeReach_case__seed0.mp4"
        and (tmp_path / r.row["video"]).stat().st_size > 0
    )
    assert r.frames is None and worker.factory.episodes == 1  # rendered from view states, not re-run
    expert = EpisodeWorker(dataclasses.replace(config, policy=PolicySpec("expert")))
    assert expert.run(_spec(seed=1)).row["video"] == ""  # successes get no video
    assert not (tmp_path / "videos" / "FakeReach_case__seed1.mp4").exists()


def test_failures_mode_keeps_frames_of_camera_policies_without_rerun(tmp_path):
    config = JobConfig(
        backend=fake_env.fake_backend(),
        policy=PolicySpec("camera"),
        video="failures",
        run_dir=str(tmp_path),
        policy_builder=fake_env.make_fake_factory,
    )
    worker = EpisodeWorker(config)
    worker.run(_spec(seed=3))  # first episode: learns the policy's cameras
    before = worker.factory.episodes
    r = worker.run(_spec(horizon=2))  # too short to succeed
    assert r.row["video"] and (tmp_path / r.row["video"]).stat().st_size > 0
    assert worker.factory.episodes == before + 1  # recorded during the episode itself, not re-run


def _only_env(cache):
    return list(cache._envs.values())[-1]  # the env the episode ran on (most recently used)


def test_camera_policy_renders_only_before_its_calls():
    cache = EnvCache(fake_env.fake_backend())
    r = _run(_spec(horizon=10, stop_on_success=False), kind="camera", cache=cache)
    calls = sum(r.steps["policy_called"])
    assert calls == 4 and r.row["steps"] == 10  # open-loop horizon 3: steps 0, 3, 6, 9
    # the reset (read by call 1) and the observations of steps 2, 5, 8 (read by calls 2..4); nothing else
    assert _only_env(cache).renders == calls
    assert r.row["render_ms"] == 0.25
    assert _only_env(cache).render_cameras  # a cached env is handed back rendering, as envs.make builds it


def test_video_stride_keeps_every_kth_frame():
    spec = _spec(horizon=10, stop_on_success=False, cameras=("exterior_image_0_left", "wrist_image_left"))
    every = _run(spec, kind="random", record_video=True)
    strided = _run(spec, kind="random", record_video=True, video_stride=3)
    assert len(every.frames) == 11 and len(strided.frames) == 4  # views after steps 0, 3, 6, 9
    assert all(np.array_equal(a, b) for a, b in zip(every.frames[::3], strided.frames, strict=True))


def test_detached_video_bytes_equal_the_written_video_with_a_stride(tmp_path):
    """What a Ray worker sends back (`run_detached`) is the MP4 a local worker writes, stride included."""
    config = JobConfig(
        backend=fake_env.fake_backend(),
        policy=PolicySpec("random"),
        video="all",
        video_stride=3,
        run_dir=str(tmp_path),
        policy_builder=fake_env.make_fake_factory,
    )
    spec = _spec(horizon=7, stop_on_success=False)
    written = EpisodeWorker(config).run(spec)
    detached, data = EpisodeWorker(config).run_detached(spec)
    assert detached.row["video"] == "" and detached.frames is None and written.frames is None
    assert data == (tmp_path / written.row["video"]).read_bytes()
    unstrided = dataclasses.replace(config, video_stride=1)
    assert EpisodeWorker(unstrided).run_detached(spec)[1] != data


def test_failure_video_renders_nothing_live_and_matches_live_frames():
    spec = _spec(horizon=7, cameras=("exterior_image_0_left", "wrist_image_left"))
    live = _run(spec, kind="random", record_video=True, video_stride=2)
    cache = EnvCache(fake_env.fake_backend())
    failed = _run(spec, kind="random", failure_video=True, video_stride=2, cache=cache)
    assert not failed.row["success"] and len(failed.frames) == len(live.frames) == 4
    assert all(np.array_equal(a, b) for a, b in zip(live.frames, failed.frames, strict=True))
    assert _only_env(cache).renders == 4  # only the re-rendered frames: the state-only policy reads no image
    won = _run(_spec(seed=1), failure_video=True)
    assert won.row["success"] and won.frames is None


class _SceneReadingPolicy(fake_env.FakePolicy):
    """The fake expert, reading the episode's scene when it resets (as the scripted expert plans from it)."""

    def reset(self, instruction: str) -> None:
        super().reset(instruction)
        self.goal_at_reset = self.env.goal.copy()


class _SceneReadingFactory(fake_env.FakeFactory):
    def for_episode(self, env, *, seed, episode_key):
        self.policy = _SceneReadingPolicy(env, "expert", seed, episode_key)
        return self.policy


def test_the_policy_resets_after_the_env_so_it_sees_this_episodes_scene():
    cache = EnvCache(fake_env.fake_backend())
    factory = _SceneReadingFactory("expert")
    for seed in (
        3,
        4,
    ):  # seed 4 reuses the cached env: a policy reset before env.reset would see seed 3's goal
        result = run_episode(_spec(seed=seed), factory, record_video=False, env_cache=cache)
        assert result.row["error"] == ""
        np.testing.assert_array_equal(factory.policy.goal_at_reset, factory.policy.env.goal)

"""`--batch B`: episodes run side by side in one worker, their due chunk requests answered in one policy call.

With a per-episode (deterministic) policy the tables equal `--batch 1`'s whatever shared a batch; slots are
refilled as episodes end at different steps; a crash ends only its own episode; resume works.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import assert_same_results, fake_env, main, run_main, suite_doc, write_suite

from evals.contract import PolicyMetadata
from evals.runner.policy_sessions import EpisodeSessions, SessionRequest, SharedPolicyError

CHUNK = 3  # < open_loop_horizon (8): every episode re-queries every 3 steps


def _suite(tmp_path, **defaults):
    doc = suite_doc()
    doc["defaults"].update(defaults)
    # runs to its horizon (10) whatever happens; the others end on success (expert) or at 20
    doc["cases"].append({"id": "reach_long", "seeds": [3, 1, 2], "stop_on_success": False, "horizon": 10})
    return write_suite(tmp_path, doc)


def _run(tmp_path, name, *extra, builder=None, suite=None):
    args = ["--suite", suite or _suite(tmp_path), "--output", tmp_path / name, "--quiet", *extra]
    rc = main(
        [str(a) for a in args],
        backend=fake_env.fake_backend(),
        policy_builder=builder or fake_env.make_fake_factory,
    )
    assert rc == 1  # the FakeCrash case errors, whatever the batch
    return tmp_path / name


# ---- a natively batched policy (what DreamZero's session_policy is) and its per-episode twin -------------


def _chunk(rng: np.random.Generator, obs: dict) -> np.ndarray:
    """Half-way from the observed joints to a random target: depends on the session's seed and its obs."""
    joints = np.asarray(obs["joint_position"], np.float64)
    target = joints + 0.5 * (rng.uniform(-1, 1, (CHUNK, 7)) - joints)
    return np.concatenate([target, rng.uniform(0, 1, (CHUNK, 1))], axis=1).astype(np.float32)


METADATA = PolicyMetadata(name="seeded", action_space="joint_position", action_dim=8, chunk_length=CHUNK)


class SeededChunks:
    """The per-episode policy (`--batch 1`)."""

    metadata = METADATA

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def reset(self, instruction: str) -> None:
        self.rng = np.random.default_rng(self.seed)

    def infer(self, obs: dict) -> dict:
        return {"actions": _chunk(self.rng, obs)}


class SeededSessions:
    """The same policy as one SessionPolicy; logs every start, end and batched call."""

    metadata = METADATA

    def __init__(self, max_sessions: int, log: list) -> None:
        self.max_sessions, self.log, self.rngs = max_sessions, log, {}

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        assert len(self.rngs) < self.max_sessions, "more sessions than slots"
        self.rngs[session] = np.random.default_rng(seed)
        self.log.append(("start", session))

    def infer_batch(self, requests):
        self.log.append(("call", [r.session for r in requests]))
        return [{"actions": _chunk(self.rngs[r.session], r.obs)} for r in requests]

    def end_session(self, session: str) -> None:
        self.rngs.pop(session)
        self.log.append(("end", session))


class NativeFactory(fake_env.FakeFactory):
    def __init__(self) -> None:
        super().__init__("expert")
        self.log: list = []
        self.native_sizes: list[int] = []

    def for_episode(self, env, *, seed, episode_key):
        return SeededChunks(seed)

    def session_policy(self, max_sessions: int) -> SeededSessions:
        self.native_sizes.append(max_sessions)
        return SeededSessions(max_sessions, self.log)


def test_batch_2_and_3_equal_batch_1_with_per_episode_policies(tmp_path):
    for policy in ("expert", "random"):
        one = _run(tmp_path, f"{policy}1", "--policy", policy, "--video", "none")
        for batch in (2, 3):
            batched = _run(
                tmp_path, f"{policy}{batch}", "--policy", policy, "--video", "none", "--batch", batch
            )
            assert_same_results(one, batched)
    ep = pd.read_parquet(tmp_path / "expert3" / "episodes.parquet")
    assert ep.steps.nunique() >= 3  # episodes ended at different steps: slots were refilled mid-run
    info = json.loads((tmp_path / "expert3" / "run.json").read_text())
    assert info["batch"] == 3 and info["sessions"][0]["batch"] == 3


def test_videos_of_failures_match_batch_1(tmp_path):
    # a camera policy keeps its frames; a state-only one re-runs the failed episode with cameras
    for policy, failures in (("camera", 1), ("random", 8)):
        one = _run(tmp_path, f"{policy}1", "--policy", policy, "--video", "failures")
        three = _run(tmp_path, f"{policy}3", "--policy", policy, "--video", "failures", "--batch", "3")
        assert_same_results(one, three)
        assert pd.read_parquet(three / "episodes.parquet").video.str.endswith(".mp4").sum() == failures
        assert sorted(p.name for p in (three / "videos").iterdir()) == sorted(
            p.name for p in (one / "videos").iterdir()
        )


def test_native_session_policy_batches_what_is_due_and_refills_slots(tmp_path):
    one = _run(tmp_path, "one", "--video", "none", builder=lambda *a, **k: NativeFactory())
    factories = []

    def builder(*args, **kwargs):
        factories.append(NativeFactory())
        return factories[-1]

    three = _run(tmp_path, "three", "--video", "none", "--batch", "3", builder=builder)
    assert_same_results(one, three)  # the native batched path acts as the per-episode one, episode by episode
    (factory,) = factories
    assert factory.native_sizes == [3]
    calls = [sessions for kind, sessions in factory.log if kind == "call"]
    assert max(len(c) for c in calls) == 3  # due requests share one call
    steps = pd.read_parquet(three / "steps.parquet")
    assert len(calls) < steps.policy_called.sum()  # fewer model calls than chunks
    # every chunk request was answered at the step it was due (same policy_called steps as --batch 1)
    assert steps.policy_called.tolist() == pd.read_parquet(one / "steps.parquet").policy_called.tolist()
    live, ended, refills = set(), False, 0
    for kind, payload in factory.log:
        if kind == "start":
            refills += ended and bool(live)  # a new episode joins while others are mid-episode
            live.add(payload)
            assert len(live) <= 3
        elif kind == "end":
            live.discard(payload)
            ended = True
    assert refills >= 1 and sum(kind == "start" for kind, _ in factory.log) == 8


class _Raising(SeededChunks):
    def infer(self, obs: dict) -> dict:
        raise RuntimeError("policy exploded on this episode")


class OneBadEpisode(NativeFactory):
    """Per-episode policies (no session_policy); the episode reach_ur5e/seed 5 raises in infer."""

    session_policy = None

    def for_episode(self, env, *, seed, episode_key):
        bad = episode_key["case_id"] == "reach_ur5e" and episode_key["seed"] == 5
        return _Raising(seed) if bad else SeededChunks(seed)


def test_a_policy_exception_ends_only_its_own_episode(tmp_path):
    one = _run(tmp_path, "one", "--video", "none", builder=lambda *a, **k: NativeFactory())
    three = _run(
        tmp_path, "three", "--video", "none", "--batch", "3", builder=lambda *a, **k: OneBadEpisode()
    )
    a = pd.read_parquet(one / "episodes.parquet").set_index(["case_id", "seed"])
    b = pd.read_parquet(three / "episodes.parquet").set_index(["case_id", "seed"])
    assert b.loc[("reach_ur5e", 5), "error"] == "policy exploded on this episode"
    assert b.loc[("crash", 0), "error"] == "simulated physics blow-up"  # an env exception, same as batch 1
    others = [k for k in a.index if k != ("reach_ur5e", 5)]
    cols = ["steps", "success", "final_progress", "termination_reason", "error"]
    pd.testing.assert_frame_equal(a.loc[others, cols], b.loc[others, cols])


def test_resume_of_a_batched_run(tmp_path):
    ref = _run(tmp_path, "ref", "--policy", "random", "--video", "none")
    run_dir = _run(tmp_path, "run", "--policy", "random", "--video", "none", "--batch", "3")
    parts = sorted((run_dir / "episodes").glob("*.parquet"))
    for part in (parts[0], parts[3], parts[5]):  # as if the run had died before these finished
        part.unlink()
        (run_dir / "steps" / part.name).unlink()
    rc = main(
        ["--resume", str(run_dir), "--quiet", "--batch", "2"],
        backend=fake_env.fake_backend(),
        policy_builder=fake_env.make_fake_factory,
    )
    assert rc == 1  # the crash episode is still an error
    assert_same_results(ref, run_dir)
    info = json.loads((run_dir / "run.json").read_text())
    assert [s["batch"] for s in info["sessions"]] == [3, 2] and info["status"] == "completed"


@pytest.mark.slow
def test_batch_combines_with_workers_and_a_dead_worker_loses_only_its_episodes(tmp_path):
    one = _run(tmp_path, "one", "--policy", "random", "--video", "none")
    assert_same_results(
        one, _run(tmp_path, "w2b2", "--policy", "random", "--video", "none", "--workers", "2", "--batch", "2")
    )
    out = tmp_path / "die"
    rc = run_main(
        [
            "--suite",
            _suite(tmp_path),
            "--policy",
            "die",
            "--workers",
            "2",
            "--batch",
            "2",
            "--output",
            out,
            "--video",
            "none",
            "--quiet",
        ]
    )
    assert rc == 1
    ep = pd.read_parquet(out / "episodes.parquet")
    assert len(ep) == 8
    crashed = ep[ep.error_type == "WorkerCrash"]
    assert ("crash", 0) in set(zip(crashed.case_id, crashed.seed, strict=True))
    assert len(crashed) <= 2  # the episodes that shared the dead worker, nothing else
    assert ep[ep.error_type != "WorkerCrash"].termination_reason.isin(["success", "horizon"]).all()


def test_batch_flag_errors(tmp_path, capsys):
    suite = _suite(tmp_path)
    assert run_main(["--suite", suite, "--batch", "0"]) == 2
    assert run_main(["--suite", suite, "--policy", "remote:127.0.0.1:9", "--batch", "2"]) == 2
    err = capsys.readouterr().err
    assert "--batch must be >= 1" in err and "remote: runs with --batch 1" in err


def test_a_shared_policy_object_is_refused_in_a_batch():
    shared = SeededChunks(0)
    sessions = EpisodeSessions(fake_env.FakeFactory("expert"), max_sessions=2)
    sessions.start("a", "reach", 1, shared)
    with pytest.raises(SharedPolicyError, match="--batch 1"):
        sessions.start("b", "reach", 2, shared)
    # the fallback answers each session from its own policy, and one exception stays with its request
    sessions.start("c", "reach", 3, _Raising(3))
    obs = {"joint_position": np.zeros(7, np.float32)}
    (a, _), (c, _) = sessions.answer([SessionRequest("a", obs), SessionRequest("c", obs)])
    assert a["actions"].shape == (CHUNK, 8) and isinstance(c, RuntimeError)


def test_policy_factory_offers_its_builders_native_session_policy():
    from evals.policies import PolicyFactory

    factory = PolicyFactory.from_spec("zero")
    assert factory.session_policy(4) is None  # the runner then keeps one policy per episode
    factory._builder.session_policy = lambda max_sessions: SeededSessions(max_sessions, [])
    assert factory.session_policy(4).max_sessions == 4
    assert EpisodeSessions(factory, 4).native is not None


def test_dataset_recorded_with_batch_3_equals_batch_1(tmp_path):
    from dreamzero_jax.data import load_dataset

    datasets = []
    for batch in (1, 3):
        ds = tmp_path / f"ds{batch}"
        _run(
            tmp_path,
            f"run{batch}",
            "--video",
            "none",
            "--batch",
            batch,
            "--dataset",
            ds,
            "--dataset-size",
            12,
            16,
        )
        datasets.append(load_dataset(ds).episodes)
    one, three = datasets
    assert len(one) == len(three) == 7  # the successful episodes, in suite order
    cam = "observation.images.exterior_image_1_left"
    for a, b in zip(one, three, strict=True):
        np.testing.assert_array_equal(a.state, b.state)
        np.testing.assert_array_equal(a.action, b.action)
        np.testing.assert_array_equal(a.frames[cam], b.frames[cam])

"""``DreamZeroBuilder.session_policy``: the model's native batched sessions as an ``evals`` SessionPolicy."""

from __future__ import annotations

import numpy as np
import pytest

from evals.contract.policy import PolicyMetadata
from evals.contract.sessions import SessionPolicy, SessionRequest
from evals.policies.dreamzero import SessionView
from evals.policies.registry import DreamZeroBuilder
from evals.policies.sessions import SessionLimitError


class FakeSessionModel:
    """Records the session calls the view makes; answers each request with its session's start count."""

    def __init__(self) -> None:
        self.metadata = {"name": "dreamzero", "action_dim": 8, "chunk_length": 4, "extra": 1}
        self.reserved, self.started, self.ended = 0, [], []

    def reserve_sessions(self, n: int) -> None:
        self.reserved = max(self.reserved, n)

    def start_session(self, session, instruction, seed):
        self.started.append((session, instruction, seed))

    def infer_batch(self, requests):
        return [{"actions": np.full((4, 8), len(self.started), np.float32)} for _ in requests]

    def end_session(self, session):
        self.ended.append(session)


def test_session_view_types_metadata_and_enforces_its_limit():
    model = FakeSessionModel()
    view = SessionView(model, max_sessions=2)
    assert isinstance(view, SessionPolicy) and view.max_sessions == 2
    assert isinstance(view.metadata, PolicyMetadata) and view.metadata.chunk_length == 4
    assert view.metadata.config["extra"] == 1
    assert model.reserved == 3  # one slot beyond the view's for the model's one-episode API
    view.start_session("a", "lift", 1)
    view.start_session("b", "lift", 2)
    with pytest.raises(SessionLimitError, match="2"):
        view.start_session("c", "lift", 3)
    view.start_session("a", "open", 4)  # restarting a session needs no new slot
    view.end_session("b")
    view.start_session("c", "lift", 3)
    assert model.started[-1] == ("c", "lift", 3) and model.ended == ["b"]
    assert len(view.infer_batch([SessionRequest("a", {}), SessionRequest("c", {})])) == 2
    with pytest.raises(ValueError, match="max_sessions"):
        SessionView(model, 0)


@pytest.mark.slow
def test_builder_session_policy_runs_two_sessions_as_each_alone():
    from dreamzero_jax.inference.frames import DROID_CAMERAS

    def obs(i):
        rng = np.random.default_rng(i)
        images = {k: rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for k in DROID_CAMERAS}
        return images | {"joint_position": rng.normal(0, 0.5, 7), "gripper_position": np.array([0.3])}

    builder = DreamZeroBuilder(None, random_weights=True)
    sessions = builder.session_policy(2)
    assert isinstance(sessions, SessionPolicy)
    episode = builder.for_episode(None, seed=5, episode_key={})  # the one-episode view of the same model
    alone = {}
    for name, seed, instruction in (("a", 5, "lift the cube"), ("b", 6, "open the drawer")):
        episode.seed = seed
        episode.reset(instruction)
        alone[name] = [episode.infer(obs(10 * seed + i))["actions"] for i in range(2)]
    sessions.start_session("a", "lift the cube", 5)
    sessions.start_session("b", "open the drawer", 6)
    for i in range(2):
        outs = sessions.infer_batch([SessionRequest("b", obs(60 + i)), SessionRequest("a", obs(50 + i))])
        np.testing.assert_allclose(outs[0]["actions"], alone["b"][i], atol=1e-5, rtol=0)
        np.testing.assert_allclose(outs[1]["actions"], alone["a"][i], atol=1e-5, rtol=0)

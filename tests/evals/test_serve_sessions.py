"""evals.serve with many clients: per-session state, batching, eviction, and original-style clients."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from evals import loadtest
from evals.contract import PolicyMetadata, wire
from evals.policies.registry import servable_names
from evals.policies.remote import RemotePolicy
from evals.policies.sessions import PerSessionPolicies
from evals.serve.__main__ import main as serve_main
from evals.serve.server import ServerThread, ShortChunkError, droid_chunk
from evals.serve.sessions import SessionTable
from tests.evals.policy_fakes import FakeEnv
from tests.evals.serve_clients import OpenpiStyleClient, ServeProcess, StrictRoboArenaClient, connect

pytestmark = pytest.mark.timeout(120)


class Accumulator:
    """Stateful: each chunk depends on the whole episode so far (prompt, seed and every joint position)."""

    metadata = PolicyMetadata(
        name="accumulator", action_space="joint_position", action_dim=8, cameras=(), chunk_length=8
    )

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def reset(self, instruction: str) -> None:
        self.total, self.calls = float(len(instruction) + self.seed), 0

    def infer(self, obs: dict) -> dict:
        self.total += float(np.sum(obs["joint_position"]))
        self.calls += 1
        chunk = np.full((8, 8), self.total, np.float32)
        chunk[:, 1] = self.calls
        return {"actions": chunk}


class RecordingSessions(PerSessionPolicies):
    """One Accumulator per session; records every batch and every session start/end."""

    def __init__(self, max_sessions: int = 8) -> None:
        super().__init__(Accumulator, Accumulator.metadata, max_sessions)
        self.batches: list[list[str]] = []
        self.events: list[tuple[str, str]] = []

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        self.events.append(("start", session))
        super().start_session(session, instruction, seed)

    def infer_batch(self, requests):
        self.batches.append([r.session for r in requests])
        return super().infer_batch(requests)

    def end_session(self, session: str) -> None:
        self.events.append(("end", session))
        super().end_session(session)


def observations(seed: int, n: int) -> list[dict]:
    return [FakeEnv().observation(seed=seed * 100 + i) for i in range(n)]


def run_ours(port: int, obs_list: list[dict], prompt: str, barrier=None) -> list[np.ndarray]:
    client = RemotePolicy("127.0.0.1", port)
    client.reset(prompt)
    out = []
    for obs in obs_list:
        if barrier is not None:
            barrier.wait(timeout=30)
        out.append(client.infer(obs)["actions"])
    client.close()
    return out


def run_openpi(port: int, obs_list: list[dict], prompt: str, barrier=None) -> list[np.ndarray]:
    client = OpenpiStyleClient(port)
    out = []
    for obs in obs_list:
        if barrier is not None:
            barrier.wait(timeout=30)
        out.append(client.infer(obs, prompt))
    client.close()
    return out


def alone_then_together(port: int, obs_a, obs_b, prompt_a: str, prompt_b: str):
    """Each client's answers alone (one after the other), then with both clients interleaving requests."""
    alone = run_ours(port, obs_a, prompt_a), run_openpi(port, obs_b, prompt_b)
    barrier = threading.Barrier(2)
    results: dict[str, list] = {}
    threads = [
        threading.Thread(target=lambda: results.update(a=run_ours(port, obs_a, prompt_a, barrier))),
        threading.Thread(target=lambda: results.update(b=run_openpi(port, obs_b, prompt_b, barrier))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return alone, (results["a"], results["b"])


def test_two_interleaving_clients_get_what_each_gets_alone_and_share_batches():
    sessions = RecordingSessions()
    obs_a, obs_b = observations(1, 5), observations(2, 5)
    with ServerThread(sessions, batch_window_ms=500) as srv:
        (alone_a, alone_b), (together_a, together_b) = alone_then_together(
            srv.port, obs_a, obs_b, "stack the cubes", "open the drawer"
        )
    np.testing.assert_array_equal(together_a, alone_a)
    np.testing.assert_array_equal(together_b, alone_b)
    assert not np.array_equal(alone_a[-1], alone_b[-1])  # the two episodes differ
    assert [a[0, 1] for a in alone_a] == [1, 2, 3, 4, 5]  # state carried across a session's calls
    # Interleaved requests were answered in shared batches (the first ones may arrive one by one).
    assert sum(len(b) == 2 for b in sessions.batches) >= 3
    assert all(len(set(b)) == len(b) for b in sessions.batches)


def test_plain_openpi_clients_get_one_warning_and_a_reset_per_new_prompt(caplog):
    sessions = RecordingSessions()
    obs = FakeEnv().observation()
    with caplog.at_level(logging.WARNING, logger="evals.serve"), ServerThread(sessions) as srv:
        client = OpenpiStyleClient(srv.port)
        first = [client.infer(obs, "a")[0, 1] for _ in range(3)]
        again = client.infer(obs, "b")[0, 1]
        client.close()
        run_ours(srv.port, [obs], "c")  # sends session ids: no warning
    assert first == [1, 2, 3] and again == 1
    warnings = [r for r in caplog.records if "needs a new session_id per episode" in r.getMessage()]
    assert len(warnings) == 1


def test_idle_sessions_are_evicted_logged_and_restart_on_their_next_request(caplog):
    sessions = RecordingSessions()
    obs = FakeEnv().observation()
    frame = wire.packb({**wire.obs_to_wire(obs), "prompt": "p", "session_id": "s1"})
    with (
        caplog.at_level(logging.INFO, logger="evals.serve"),
        ServerThread(sessions, idle_timeout_s=0.3) as srv,
        connect(srv.port) as ws,
    ):
        ws.recv(timeout=10)
        ws.send(frame)
        assert wire.unpackb(ws.recv(timeout=10))["actions"][0, 1] == 1
        deadline = time.monotonic() + 10
        while ("end", "session-s1") not in sessions.events and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "session-s1" not in sessions.sessions  # its state is freed while the client is connected
        ws.send(frame)
        assert wire.unpackb(ws.recv(timeout=10))["actions"][0, 1] == 1  # restarted from this frame
    messages = [r.getMessage() for r in caplog.records]
    assert any("evicting session session-s1: idle" in m for m in messages)
    assert any("session session-s1 was evicted; restarting" in m for m in messages)


def test_a_new_session_past_the_limit_evicts_the_least_recently_used(caplog):
    sessions = RecordingSessions(max_sessions=2)
    obs = FakeEnv().observation()
    with caplog.at_level(logging.INFO, logger="evals.serve"), ServerThread(sessions) as srv:
        clients = [OpenpiStyleClient(srv.port) for _ in range(3)]
        for client in (clients[0], clients[1], clients[0], clients[2]):
            client.infer(obs, "p")
        assert sorted(sessions.sessions) == ["connection-0", "connection-2"]
        for client in clients:
            client.close()
    assert any("evicting session connection-1: all 2 session slots" in r.getMessage() for r in caplog.records)


def test_session_table_orders_by_last_use():
    table = SessionTable(max_sessions=2, idle_timeout_s=5)
    table.touch("a", now=0.0)
    table.touch("b", now=1.0)
    table.touch("a", now=2.0)
    assert table.victim_for_new(protected=set()) == "b"
    assert table.victim_for_new(protected={"b"}) == "a"
    assert table.idle(now=6.5) == ["b"]
    table.remove("b")
    assert table.victim_for_new(protected=set()) is None


def test_droid_chunks_are_padded_only_when_asked():
    chunk = np.arange(4 * 8, dtype=np.float32).reshape(4, 8)
    with pytest.raises(ShortChunkError, match="returned 4 actions; DROID clients execute 8"):
        droid_chunk(chunk, None)
    padded = droid_chunk(chunk, 24)
    assert padded.shape == (24, 8) and (padded[:4] == chunk).all() and (padded[4:] == chunk[3]).all()
    long = np.zeros((10, 8), np.float32)
    assert droid_chunk(long, None) is long


def test_serve_refuses_chunks_shorter_than_the_droid_horizon(capsys):
    assert serve_main(["--policy", "zero", "--chunk-length", "4", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "predicts 4 actions per chunk, fewer than the 8 DROID clients execute" in err
    assert err.count("\n") == 1


# -- original-style clients against the real CLI, for every servable policy ---------------------------------
DREAMZERO_ARGS = ("--policy", "dreamzero", "--policy-opt", "random_weights=true", "--pad-chunks")


@pytest.fixture(scope="module")
def dreamzero_server():
    server = ServeProcess(*DREAMZERO_ARGS, startup_timeout=600)
    yield server
    server.stop()


def _serve_args(name: str) -> tuple[str, ...]:
    return DREAMZERO_ARGS if name == "dreamzero" else ("--policy", name)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=[pytest.mark.slow, pytest.mark.timeout(900)]) if n == "dreamzero" else n
        for n in servable_names()
    ],
)
def test_a_strict_roboarena_client_runs_against_every_servable_policy(name, request):
    server = (
        request.getfixturevalue("dreamzero_server")
        if name == "dreamzero"
        else ServeProcess(*_serve_args(name))
    )
    try:
        client = StrictRoboArenaClient(server.port)
        assert client.config.n_external_cameras == 2 and client.config.needs_wrist_camera
        assert client.config.action_space == "joint_position"
        executed = client.run_chunks(3)
        assert len(executed) == 24 and all(a.shape == (8,) and np.isfinite(a).all() for a in executed)
        assert client.reset() == "reset successful"
        client.session_id = "after-reset"
        assert len(client.run_chunks(1)) == 8
        client.close()
        # Our own client still gets the policy's exact metadata from the same server.
        ours = RemotePolicy("127.0.0.1", server.port)
        assert ours.metadata.cameras == (() if name in ("zero", "random") else wire.DROID_CAMERAS)
        ours.close()
    finally:
        if name != "dreamzero":
            assert server.stop() == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_two_interleaving_clients_of_served_dreamzero_get_what_each_gets_alone(dreamzero_server):
    obs_a, obs_b = observations(3, 3), observations(4, 3)
    (alone_a, alone_b), (together_a, together_b) = alone_then_together(
        dreamzero_server.port, obs_a, obs_b, "put the cup in the bin", "close the drawer"
    )
    # DreamZero's native batched sessions: a request batched with another runs at another padded batch size
    # (another XLA program), so equal to float32 rounding (the batched == alone bound, 1e-5), not bit-equal.
    np.testing.assert_allclose(together_a, alone_a, rtol=0, atol=1e-5)
    np.testing.assert_allclose(together_b, alone_b, rtol=0, atol=1e-5)
    assert alone_a[0].shape == (4, 8)  # our client gets the model's own chunks
    assert alone_b[0].shape == (24, 8)  # a DROID client gets them padded (--pad-chunks)
    assert not np.array_equal(alone_a[1], alone_b[1][:4])


def test_loadtest_prints_a_row_per_concurrency_and_stays_on_loopback(capsys):
    with ServerThread(RecordingSessions()) as srv:
        assert loadtest.main(["--port", str(srv.port), "--sessions", "1,3", "--seconds", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == loadtest.HEADER.split()
    rows = [line.split() for line in lines[2:]]
    assert [int(r[0]) for r in rows] == [1, 3]
    assert all(int(r[1]) > 0 and float(r[2]) > 0 for r in rows)  # requests, req/s
    assert float(rows[0][5]) == 1.0 and 1.0 <= float(rows[1][5]) <= 3.0  # mean batch size
    with pytest.raises(SystemExit) as exit_info:
        loadtest.main(["--port", "1", "--host", "192.0.2.1"])
    assert exit_info.value.code == 2

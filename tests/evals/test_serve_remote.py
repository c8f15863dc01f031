"""The websocket policy server and the remote client, against each other and against foreign-style servers."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import msgpack
import numpy as np
import pytest
import websockets.asyncio.server as ws_server
import websockets.sync.client

from evals.contract import PolicyMetadata, wire
from evals.contract.adapter import ChunkedPolicyWrapper
from evals.contract.images import resize_with_pad
from evals.policies import PolicyFactory
from evals.policies.remote import RemotePolicy, RemotePolicyError
from evals.serve.server import ServerThread
from tests.evals.policy_fakes import FakeEnv

pytestmark = pytest.mark.timeout(60)


class EchoPolicy:
    """Records what it receives; its chunk encodes the joint positions and the image checksum."""

    metadata = PolicyMetadata(
        name="echo",
        action_space="joint_position",
        action_dim=8,
        cameras=("exterior_image_0_left", "wrist_image_left"),
        image_size=(8, 12),
        chunk_length=4,
        config={"k": 1},
    )

    def __init__(self, fail_on: str | None = None):
        self.received: list[dict] = []
        self.resets: list[str] = []
        self.fail_on = fail_on

    def reset(self, instruction: str) -> None:
        self.resets.append(instruction)

    def infer(self, obs: dict) -> dict:
        if obs.get("prompt") == self.fail_on:
            raise ValueError("boom: the model exploded")
        self.received.append(obs)
        chunk = np.zeros((4, 8), np.float32)
        chunk[:, :7] = obs["joint_position"]
        chunk[:, 7] = np.arange(4) / 4
        chunk[0, 0] = float(obs["wrist_image_left"].astype(np.int64).sum())
        return {"actions": chunk, "timing": {"model": 1.25}}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def echo():
    return EchoPolicy()


@pytest.mark.parametrize("reply", ["dict", "array"])
def test_round_trip_of_an_observation_with_uint8_images(echo, reply):
    obs = FakeEnv().observation(seed=2)
    with ServerThread(echo, reply=reply) as srv:
        client = RemotePolicy("127.0.0.1", srv.port)
        client.reset("stack the cubes")
        out = client.infer(obs)
        client.close()
    got = echo.received[0]
    assert got["prompt"] == "stack the cubes"
    assert "session_id" not in got and "endpoint" not in got
    # Only the cameras the server declared are sent; everything else arrives bit-exact.
    assert "exterior_image_1_left" not in got
    del obs["exterior_image_1_left"]
    assert sorted(got) == sorted([*obs, "prompt"])
    for key, value in obs.items():
        assert got[key].dtype == value.dtype and got[key].shape == value.shape
        np.testing.assert_array_equal(got[key], value)
    # Both reply shapes come back as {"actions": float32 (N, 8)}.
    assert out["actions"].dtype == np.float32 and out["actions"].shape == (4, 8)
    assert out["actions"][0, 0] == obs["wrist_image_left"].astype(np.int64).sum()
    np.testing.assert_allclose(out["actions"][1, :7], obs["joint_position"])
    if reply == "dict":
        assert out["timing"]["model"] == 1.25 and out["timing"]["server_batch_size"] == 1
        assert all(out["timing"][f"server_{k}"] >= 0 for k in ("decode", "queue", "model"))
    else:
        assert "timing" not in out


def test_metadata_arrives_on_connect_and_configures_the_client(echo):
    with ServerThread(echo) as srv:
        client = RemotePolicy("127.0.0.1", srv.port)
        client.close()
    meta = client.metadata
    assert meta.name == f"remote:127.0.0.1:{srv.port}"
    assert meta.cameras == ("exterior_image_0_left", "wrist_image_left")
    assert meta.image_size == (8, 12) and meta.action_dim == 8 and meta.chunk_length == 4
    server = meta.config["server_metadata"]
    assert server["evals"]["name"] == "echo" and server["evals"]["config"] == {"k": 1}
    # RoboArena's PolicyServerConfig fields, in the DROID layout, for RoboArena/DreamZero clients.
    assert server["n_external_cameras"] == 2 and server["needs_wrist_camera"] is True
    assert server["image_resolution"] == [8, 12]
    assert client.protocol == "roboarena"


def test_error_frame_raises_with_the_server_traceback_and_the_next_episode_reconnects():
    policy = EchoPolicy(fail_on="explode")
    obs = FakeEnv().observation()
    with ServerThread(policy) as srv:
        client = RemotePolicy("127.0.0.1", srv.port)
        client.reset("explode")
        with pytest.raises(
            RemotePolicyError, match=r"(?s)error in policy server.*Traceback.*boom: the model"
        ):
            client.infer(obs)
        client.reset("fine")  # the server closed the connection after the error: reset reconnects
        assert client.infer(obs)["actions"].shape == (4, 8)
        client.close()


def test_server_resets_the_policy_per_episode_and_on_a_new_prompt(echo):
    obs = FakeEnv().observation()
    with ServerThread(echo) as srv:
        roboarena = RemotePolicy("127.0.0.1", srv.port)
        for instruction in ("a", "a", "b"):
            roboarena.reset(instruction)
            roboarena.infer(obs)
            roboarena.infer(obs)
        roboarena.close()
        assert echo.resets == ["a", "a", "b"]  # one per episode, even with the same instruction
        openpi = RemotePolicy("127.0.0.1", srv.port, protocol="openpi")
        for instruction in ("c", "c", "d"):
            openpi.reset(instruction)
            openpi.infer(obs)
        openpi.close()
    # Plain openpi clients send no reset: the server resets on the first frame and on a new prompt.
    assert echo.resets[3:] == ["c", "d"]


def test_server_resets_when_the_session_id_changes_without_a_reset_frame(echo):
    # A client that never sends {"endpoint": "reset"} but starts each episode with a new session_id (and the
    # same prompt) must still get a fresh policy state per episode.
    obs = wire.obs_to_wire({**FakeEnv().observation(), "prompt": "same task"})
    with (
        ServerThread(echo, pad_chunks_to=8) as srv,  # a foreign client: echo's 4-action chunks are padded
        websockets.sync.client.connect(f"ws://127.0.0.1:{srv.port}", proxy=None) as ws,
    ):
        wire.unpackb(ws.recv(timeout=10))  # metadata
        for session in ("episode-1", "episode-1", "episode-2", "episode-2", "episode-3"):
            ws.send(wire.packb({**obs, "session_id": session}))
            actions = wire.unpackb(ws.recv(timeout=10))["actions"]
            assert actions.shape == (8, 8) and (actions[4:] == actions[3]).all()
    assert echo.resets == ["same task"] * 3  # first frame, then each new session id
    assert len(echo.received) == 5 and all("session_id" not in o for o in echo.received)


def test_remote_policy_through_the_factory_and_the_chunk_adapter(echo):
    env = FakeEnv()
    with ServerThread(echo) as srv:
        factory = PolicyFactory.from_spec(f"remote:127.0.0.1:{srv.port}")
        assert factory.describe()["metadata"]["cameras"] == ["exterior_image_0_left", "wrist_image_left"]
        policy = factory.for_episode(env, seed=0, episode_key={"case_id": "c", "seed": 0})
        assert factory.for_episode(env, seed=1, episode_key={"case_id": "c", "seed": 1}) is policy
        w = ChunkedPolicyWrapper(
            policy, open_loop_horizon=2, action_low=env.action_space.low, action_high=env.action_space.high
        )
        w.reset("put the fruit in the bin")
        infos = [w.act(env.observation())[1] for _ in range(5)]
        factory.close()
    assert [i.policy_called for i in infos] == [True, False, True, False, True]
    assert infos[0].timing["model"] == 1.25
    assert echo.received[0]["prompt"] == "put the fruit in the bin"


def test_client_retries_until_a_late_server_comes_up(echo):
    port = free_port()
    srv = ServerThread(echo, port=port)
    timer = threading.Timer(0.8, srv.start)
    timer.start()
    try:
        start = time.monotonic()
        client = RemotePolicy("127.0.0.1", port, connect_timeout=20)
        assert time.monotonic() - start >= 0.5
        assert client.metadata.action_dim == 8
        client.close()
    finally:
        timer.join()
        srv.stop()


def test_unreachable_server_fails_within_the_bounded_timeout():
    start = time.monotonic()
    with pytest.raises(RemotePolicyError, match=r"cannot reach .* after 0.5 s .*is it running\?"):
        RemotePolicy("127.0.0.1", free_port(), connect_timeout=0.5)
    assert time.monotonic() - start < 5


def test_health_check(echo):
    with ServerThread(echo) as srv:
        url = f"http://127.0.0.1:{srv.port}/healthz"
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200


# -- a foreign RoboArena / DreamZero-style server ---------------------------------------------------------
def _openpi_decode(obj):
    """openpi's original unpack hook: bytes marker keys only (an independent check of our encoding)."""
    if b"__ndarray__" in obj:
        return np.ndarray(buffer=obj[b"data"], dtype=np.dtype(obj[b"dtype"]), shape=obj[b"shape"])
    return obj


def _openpi_encode(obj):
    if isinstance(obj, np.ndarray):
        return {b"__ndarray__": True, b"data": obj.tobytes(), b"dtype": obj.dtype.str, b"shape": obj.shape}
    return obj


class RoboArenaStyleServer:
    """Mimics the DreamZero server: PolicyServerConfig metadata, 'endpoint' routing, bare-array replies."""

    def __init__(self):
        self.frames: list[dict] = []
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _handler(self, ws):
        config = {
            "image_resolution": (180, 320),
            "needs_wrist_camera": True,
            "n_external_cameras": 2,
            "needs_stereo_camera": False,
            "needs_session_id": True,
            "action_space": "joint_position",
        }
        await ws.send(msgpack.packb(config, default=_openpi_encode))
        async for frame in ws:
            obs = msgpack.unpackb(frame, object_hook=_openpi_decode)
            self.frames.append(dict(obs))
            endpoint = obs.pop("endpoint")  # KeyError (an error frame) if the client forgets it
            if endpoint == "reset":
                await ws.send("reset successful")
            else:
                await ws.send(msgpack.packb(np.full((24, 8), 0.5, np.float32), default=_openpi_encode))

    async def _main(self):
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        async with ws_server.serve(self._handler, "127.0.0.1", 0, compression=None, max_size=None) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    def __enter__(self):
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc):
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


def test_client_speaks_the_roboarena_dialect_to_a_dreamzero_style_server():
    obs = FakeEnv().observation()
    with RoboArenaStyleServer() as srv:
        client = RemotePolicy("127.0.0.1", srv.port)
        assert client.protocol == "roboarena"
        assert client.metadata.cameras == (
            "exterior_image_0_left",
            "exterior_image_1_left",
            "wrist_image_left",
        )
        assert client.metadata.image_size == (180, 320)
        client.reset("pick up the can")
        out = client.infer(obs)
        client.reset("pick up the can")
        client.infer(obs)
        client.close()
    assert out["actions"].shape == (24, 8) and np.all(out["actions"] == 0.5)
    reset1, infer1, reset2, infer2 = srv.frames
    assert reset1["endpoint"] == "reset" and infer1["endpoint"] == "infer"
    assert infer1["prompt"] == "pick up the can"
    # DreamZero resets its frame buffers when the session id changes: a new one per episode.
    assert infer1["session_id"] == reset1["session_id"] != reset2["session_id"] == infer2["session_id"]
    # Frames are resized client-side to the server's image_resolution, as RoboArena clients do.
    for cam in ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left"):
        sent = infer1[f"observation/{cam}"]
        assert sent.dtype == np.uint8 and sent.shape == (180, 320, 3)
        np.testing.assert_array_equal(sent, resize_with_pad(obs[cam], 180, 320))
    np.testing.assert_array_equal(infer1["observation/joint_position"], obs["joint_position"])


# -- the CLI --------------------------------------------------------------------------------------------
def test_cli_serves_and_shuts_down_cleanly_on_sigterm():
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "evals.serve", "--policy", "zero", "--port", "0", "--reply", "array"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        port = None
        deadline = time.monotonic() + 30
        while port is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            match = re.search(r"serving zero on ws://127.0.0.1:(\d+)", line)
            port = int(match.group(1)) if match else None
        assert port, "server did not report its port"
        client = RemotePolicy("127.0.0.1", port)
        client.reset("hold still")
        obs = FakeEnv().observation()
        actions = client.infer(obs)["actions"]
        np.testing.assert_allclose(actions[0, :7], obs["joint_position"])
        client.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ({"server_timing": {"infer_ms": 1.0}}, r"map without 'actions'"),
        ("a string", r"replied str instead of an action array"),
    ],
)
def test_replies_without_actions_are_clear_errors(echo, reply, message):
    with ServerThread(echo) as srv:
        client = RemotePolicy("127.0.0.1", srv.port)
        client.close()
    with pytest.raises(RemotePolicyError, match=message):
        client._parse_reply(reply)
    # The RoboArena README's singular "action" key is accepted too.
    assert client._parse_reply({"action": np.ones((2, 8))})["actions"].shape == (2, 8)

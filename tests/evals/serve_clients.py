"""Clients of the kinds that talk to ``evals.serve``, written as their originals behave (for the serve tests).

- :class:`OpenpiStyleClient`: openpi's ``WebsocketClientPolicy``: no ``endpoint``, no ``session_id``, no
  handshake header; replies are ``{"actions": ...}`` maps.
- :class:`StrictRoboArenaClient`: the original DreamZero / RoboArena test and sim-eval clients: builds a frozen
  ``PolicyServerConfig`` from the first frame (a TypeError on any extra key), builds the observation it asks for,
  sends ``"endpoint": "infer"`` and a ``session_id``, takes a bare array back and executes 8 actions of every
  chunk without checking its length.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import websockets.sync.client

from evals.contract import wire


def connect(port: int) -> websockets.sync.client.ClientConnection:
    return websockets.sync.client.connect(
        f"ws://127.0.0.1:{port}",
        compression=None,
        max_size=None,
        proxy=None,
        open_timeout=30,
        legacy=True,  # a plain connection object, as the original clients use
    )


class OpenpiStyleClient:
    def __init__(self, port: int) -> None:
        self.ws = connect(port)
        self.metadata = wire.unpackb(self.ws.recv(timeout=30))

    def infer(self, obs: dict, prompt: str, timeout: float = 600) -> np.ndarray:
        self.ws.send(wire.packb({**wire.obs_to_wire(obs), "prompt": prompt}))
        reply = self.ws.recv(timeout=timeout)
        assert not isinstance(reply, str), reply
        return wire.unpackb(reply)["actions"]

    def close(self) -> None:
        self.ws.close()


@dataclasses.dataclass(frozen=True)
class PolicyServerConfig:
    """RoboArena's server config, field for field (no defaults: every field must be sent)."""

    image_resolution: tuple[int, int] | None
    needs_wrist_camera: bool
    n_external_cameras: int
    needs_stereo_camera: bool
    needs_session_id: bool
    action_space: str


class StrictRoboArenaClient:
    OPEN_LOOP_HORIZON = 8

    def __init__(self, port: int) -> None:
        self.ws = connect(port)
        self.config = PolicyServerConfig(**wire.unpackb(self.ws.recv(timeout=30)))
        self.session_id = str(uuid.uuid4())

    def observation(self, rng: np.random.Generator, prompt: str) -> dict:
        h, w = self.config.image_resolution or (180, 320)
        obs = {}
        for i in range(self.config.n_external_cameras):
            obs[f"observation/exterior_image_{i}_left"] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if self.config.needs_wrist_camera:
            obs["observation/wrist_image_left"] = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        if self.config.needs_session_id:
            obs["session_id"] = self.session_id
        obs["observation/joint_position"] = rng.uniform(-1, 1, 7).astype(np.float32)
        obs["observation/cartesian_position"] = np.zeros(6, np.float32)
        obs["observation/gripper_position"] = np.zeros(1, np.float32)
        obs["prompt"] = prompt
        return obs

    def run_chunks(self, n: int, prompt: str = "pick up the red block") -> list[np.ndarray]:
        """``n`` chunks, executing 8 actions of each (the original indexes the chunk without checking)."""
        rng = np.random.default_rng(0)
        executed = []
        for _ in range(n):
            self.ws.send(wire.packb({**self.observation(rng, prompt), "endpoint": "infer"}))
            reply = self.ws.recv(timeout=600)
            if isinstance(reply, str):
                raise RuntimeError(f"Error in inference server:\n{reply}")
            actions = wire.unpackb(reply)
            assert isinstance(actions, np.ndarray) and actions.ndim == 2, type(actions)
            executed += [actions[i] for i in range(self.OPEN_LOOP_HORIZON)]
        return executed

    def reset(self) -> str:
        self.ws.send(wire.packb({"endpoint": "reset"}))
        return self.ws.recv(timeout=30)

    def close(self) -> None:
        self.ws.close()


class ServeProcess:
    """``python -m evals.serve ARGS --port 0`` in a subprocess; ``port`` is read from its log."""

    def __init__(self, *args: str, startup_timeout: float = 60) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evals.serve", *args, "--port", "0"],
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log: list[str] = []
        self.port = None
        deadline = time.monotonic() + startup_timeout
        while self.port is None and time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line and self.proc.poll() is not None:
                break
            self.log.append(line)
            match = re.search(r"serving \S+ on ws://127.0.0.1:(\d+)", line)
            self.port = int(match.group(1)) if match else None
        if self.port is None:
            self.stop()
            raise RuntimeError("evals.serve did not start:\n" + "".join(self.log))
        # Keep reading its log so that the pipe never fills up and blocks the server.
        self._reader = threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True)
        self._reader.start()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        if hasattr(self, "_reader"):
            self._reader.join(10)
        return code

"""``remote:<host>:<port>``: a client of the openpi / RoboArena websocket policy protocol.

Protocol (what openpi's ``WebsocketClientPolicy`` and RoboArena's / DreamZero's clients do):
- connect (``ws://host:port``, no compression, no size limit); the server's first frame is its metadata;
- each observation is one msgpack-numpy frame (``observation/<key>`` + ``prompt``, see ``evals.contract.wire``);
  the reply is a binary frame: ``{"actions": (N, d), ...}`` (openpi) or a bare ``(N, d)`` array (RoboArena,
  DreamZero); a text frame is the server's traceback, after which the server closes the connection.

Two server dialects, told apart by the metadata (``protocol`` option ``auto``): a RoboArena-style server
(metadata has ``n_external_cameras`` / ``needs_wrist_camera`` / ``needs_session_id``, e.g. the original
DreamZero server) wants ``"endpoint": "infer"`` in every frame and resets on ``{"endpoint": "reset"}``, which
it answers with a text frame (``"reset successful"``). On ``reset`` we send that frame plus ``prompt`` and a
fresh ``session_id`` (DreamZero also resets its frame buffer when the session id changes), and then send the
session id with every observation. The handshake header ``X-Evals-Metadata`` asks ``evals.serve`` for its full
metadata (exact cameras and chunk length, under ``"evals"``) and for dict replies with server timing; other
servers ignore it. A plain openpi server has no reset message: ``reset`` only changes the prompt we send.
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

import numpy as np
import websockets
import websockets.sync.client

from evals.contract import wire
from evals.contract.images import resize_with_pad

PROTOCOLS = ("auto", "openpi", "roboarena")


class RemotePolicyError(RuntimeError):
    """The remote policy server is unreachable, failed (its traceback is in the message) or replied garbage."""


class RemotePolicy:
    """A policy served over websockets; one connection, reused across episodes.

    Args:
        host, port: the server (``host`` may be a full ``ws://`` / ``wss://`` URI).
        connect_timeout: seconds to keep retrying the connection before giving up.
        reply_timeout: seconds to wait for one reply (model inference can be slow).
        protocol: ``auto`` | ``openpi`` | ``roboarena`` (see the module docstring).
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = 30.0,
        reply_timeout: float = 600.0,
        protocol: str = "auto",
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        self.uri = host if host.startswith(("ws://", "wss://")) else f"ws://{host}:{port}"
        self.name = f"remote:{host}:{port}"
        self.connect_timeout = float(connect_timeout)
        self.reply_timeout = float(reply_timeout)
        self._requested_protocol = protocol
        self._ws: websockets.sync.client.ClientConnection | None = None
        self._prompt = ""
        self._session_id: str | None = None
        self._sessions = itertools.count()
        self._connect()

    # -- connection -------------------------------------------------------------------------------------
    def _connect(self) -> None:
        deadline = time.monotonic() + self.connect_timeout
        last_error: Exception | None = None
        while True:
            try:
                self._ws = websockets.sync.client.connect(
                    self.uri,
                    compression=None,
                    max_size=None,
                    # Direct connection, as openpi's client (older websockets ignored *_PROXY variables).
                    proxy=None,
                    # Asks our server (evals.serve) for its full metadata; other servers ignore the header.
                    additional_headers={wire.EVALS_HEADER: "1"},
                    legacy=True,  # a plain connection object (websockets >= 17 otherwise wants a context)
                    open_timeout=max(1.0, min(10.0, deadline - time.monotonic())),
                    # The server does not answer pings while it computes; allow long inferences.
                    ping_interval=60,
                    ping_timeout=self.reply_timeout,
                )
                break
            except (OSError, TimeoutError, websockets.exceptions.InvalidHandshake) as err:
                last_error = err
                if time.monotonic() >= deadline:
                    raise RemotePolicyError(
                        f"cannot reach the policy server at {self.uri} after {self.connect_timeout:g} s "
                        f"({type(err).__name__}: {err}); is it running?"
                    ) from last_error
                time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        server_metadata = self._receive()
        if not isinstance(server_metadata, dict):
            raise RemotePolicyError(
                f"{self.uri} sent {type(server_metadata).__name__} as metadata, not a map"
            )
        self.server_metadata = server_metadata
        dialect = self._requested_protocol
        if dialect == "auto":
            dialect = "roboarena" if any(k in server_metadata for k in wire.ROBOARENA_KEYS) else "openpi"
        self.protocol = dialect
        config = {"uri": self.uri, "protocol": dialect, "server_metadata": wire.jsonable(server_metadata)}
        self.metadata = wire.metadata_from_frame(server_metadata, name=self.name, config=config)

    def _receive(self) -> Any:
        """One frame: binary -> decoded; text -> the server's error (it closes the connection after it)."""
        assert self._ws is not None
        try:
            frame = self._ws.recv(timeout=self.reply_timeout)
        except TimeoutError as err:
            raise RemotePolicyError(f"{self.uri} did not reply within {self.reply_timeout:g} s") from err
        except websockets.ConnectionClosed as err:
            self.close()
            raise RemotePolicyError(f"{self.uri} closed the connection: {err}") from err
        if isinstance(frame, str):
            self.close()  # the server closes after an error frame; the next reset reconnects
            raise RemotePolicyError(f"error in policy server {self.uri}:\n{frame}")
        return wire.unpackb(frame)

    def _send(self, message: dict[str, Any]) -> None:
        if self._ws is None:
            raise RemotePolicyError(f"the connection to {self.uri} is closed (it reopens on the next reset)")
        try:
            self._ws.send(wire.packb(message))
        except websockets.ConnectionClosed as err:
            self.close()
            raise RemotePolicyError(f"{self.uri} closed the connection: {err}") from err

    def _is_open(self) -> bool:
        return self._ws is not None and self._ws.protocol.state is websockets.protocol.State.OPEN

    # -- Policy -----------------------------------------------------------------------------------------
    def reset(self, instruction: str) -> None:
        """New episode: reconnect if the last one broke, and tell a RoboArena-style server to reset."""
        self._prompt = instruction
        if not self._is_open():
            self._connect()
        if self.protocol != "roboarena":
            return
        self._session_id = f"{os.getpid()}-{next(self._sessions)}-{time.time_ns()}"
        self._send({wire.ENDPOINT_KEY: "reset", "prompt": instruction, "session_id": self._session_id})
        assert self._ws is not None
        try:
            reply = self._ws.recv(timeout=self.reply_timeout)
        except (TimeoutError, websockets.ConnectionClosed) as err:
            self.close()
            raise RemotePolicyError(f"{self.uri} did not acknowledge reset: {err}") from err
        # RoboArena servers answer a reset with a text frame; anything textual but that is a traceback.
        if isinstance(reply, str) and reply.strip() != wire.RESET_REPLY:
            self.close()
            raise RemotePolicyError(f"error in policy server {self.uri} on reset:\n{reply}")

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        """Send one observation and return ``{"actions": float32 (N, d), "timing": {...}}``."""
        message = wire.obs_to_wire({**self._prepare(obs), "prompt": obs.get("prompt", self._prompt)})
        if self.protocol == "roboarena":
            message[wire.ENDPOINT_KEY] = "infer"
            if self._session_id is not None:
                message["session_id"] = self._session_id
        self._send(message)
        reply = self._receive()
        return self._parse_reply(reply)

    def _prepare(self, obs: dict[str, Any]) -> dict[str, Any]:
        """Only the cameras the server wants, resized (with padding) to its resolution, as openpi clients do."""
        cameras, size = set(self.metadata.cameras), self.metadata.image_size
        out: dict[str, Any] = {}
        for key, value in obs.items():
            if (
                "image" in key
                and isinstance(value, np.ndarray)
                and value.ndim >= 3
                and value.dtype == np.uint8
            ):
                if key not in cameras:
                    continue
                if size is not None:
                    value = resize_with_pad(value, *size)
            out[key] = value
        return out

    def _parse_reply(self, reply: Any) -> dict[str, Any]:
        if isinstance(reply, dict):
            key = next((k for k in ("actions", "action") if k in reply), None)
            if key is None:
                raise RemotePolicyError(f"{self.uri} replied a map without 'actions': keys {sorted(reply)}")
            actions = reply[key]
        else:
            actions = reply
        if not isinstance(actions, np.ndarray | list):
            raise RemotePolicyError(f"{self.uri} replied {type(actions).__name__} instead of an action array")
        out: dict[str, Any] = {"actions": np.asarray(actions, np.float32)}
        if isinstance(reply, dict):
            timing = {
                f"server_{str(k).removesuffix('_ms')}": float(v)
                for k, v in (reply.get("server_timing") or {}).items()
            }
            timing.update({str(k): float(v) for k, v in (reply.get("timing") or {}).items()})
            if timing:
                out["timing"] = timing
        return out

    def close(self) -> None:
        """Close the connection (idempotent); ``reset`` opens a new one."""
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()

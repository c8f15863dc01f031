"""Serves any :class:`~evals.contract.policy.Policy` over the openpi / RoboArena websocket protocol.

Per connection: the first frame is the metadata (the policy's own keys plus RoboArena's ``PolicyServerConfig``
keys, so openpi, RoboArena/DreamZero and our clients can all configure themselves from it); then each binary
observation frame is answered with a binary action frame (``{"actions", "server_timing", "timing"}`` or, with
``reply="array"``, a bare ``(N, d)`` array as RoboArena servers send). ``{"endpoint": "reset"}`` frames are
answered with the text ``"reset successful"``. Errors are sent as a text frame with the traceback and the
connection is closed (code 1011), as openpi does. ``GET /healthz`` answers 200.

The policy is reset before the first observation of a connection, after a reset frame, and when the
``prompt`` or ``session_id`` changes (clients that never send resets still get one per new instruction).
The policy is shared: inferences are serialised, and a connection that was not the last to reset resets it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import logging
import threading
import time
import traceback
from typing import Any

import numpy as np
import websockets
import websockets.asyncio.server as ws_server
import websockets.frames

from evals.contract import wire
from evals.contract.policy import Policy

logger = logging.getLogger(__name__)
REPLY_FORMATS = ("dict", "array")


@dataclasses.dataclass
class _Connection:
    """Per-connection bookkeeping for the reset rules."""

    needs_reset: bool = True
    prompt: str = ""
    session_id: Any = None


class PolicyServer:
    """A websockets server for one policy. ``await run(stop)`` serves until ``stop`` is set."""

    def __init__(self, policy: Policy, *, host: str = "127.0.0.1", port: int = 8000, reply: str = "dict"):
        if reply not in REPLY_FORMATS:
            raise ValueError(f"reply must be one of {REPLY_FORMATS}, got {reply!r}")
        self.policy = policy
        self.host, self.port, self.reply = host, port, reply
        self.metadata = wire.metadata_frame(policy.metadata)
        self._lock = asyncio.Lock()
        self._owner: _Connection | None = None  # connection whose episode the policy state belongs to

    async def run(self, stop: asyncio.Event, ready: threading.Event | None = None) -> None:
        async with ws_server.serve(
            self._handler,
            self.host,
            self.port,
            compression=None,
            max_size=None,
            # Inference may take longer than a ping round; clients use the same generous limits.
            ping_interval=60,
            ping_timeout=600,
            process_request=_health_check,
        ) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]  # the bound port when port=0
            logger.info("serving %s on ws://%s:%d", self.metadata.get("name"), self.host, self.port)
            if ready is not None:
                ready.set()
            await stop.wait()
        logger.info("server stopped")

    async def _handler(self, ws: ws_server.ServerConnection) -> None:
        conn = _Connection()
        await ws.send(wire.packb(self.metadata))
        while True:
            try:
                frame = await ws.recv()
                if isinstance(frame, str):
                    raise TypeError("expected binary msgpack frames, got a text frame")
                message = wire.unpackb(frame)
                if not isinstance(message, dict):
                    raise TypeError(f"expected a map per frame, got {type(message).__name__}")
                if message.get(wire.ENDPOINT_KEY, "infer") == "reset":
                    conn.needs_reset = True
                    conn.prompt = str(message.get("prompt", conn.prompt))
                    conn.session_id = message.get("session_id", conn.session_id)
                    await ws.send(wire.RESET_REPLY)
                    continue
                async with self._lock:
                    reply = await asyncio.to_thread(self._infer, conn, wire.wire_to_obs(message))
                await ws.send(wire.packb(reply))
            except websockets.ConnectionClosed:
                break
            except Exception:
                logger.exception("policy server error; closing the connection")
                await ws.send(traceback.format_exc())
                await ws.close(
                    websockets.frames.CloseCode.INTERNAL_ERROR,
                    "Internal server error. Traceback included in previous frame.",
                )
                break

    def _infer(self, conn: _Connection, obs: dict[str, Any]) -> Any:
        prompt = str(obs.get("prompt", conn.prompt))
        session_id = obs.pop("session_id", conn.session_id)
        if (
            conn.needs_reset
            or self._owner is not conn
            or prompt != conn.prompt
            or session_id != conn.session_id
        ):
            self.policy.reset(prompt)
            conn.needs_reset, conn.prompt, conn.session_id = False, prompt, session_id
            self._owner = conn
        obs["prompt"] = prompt
        start = time.perf_counter()
        out = self.policy.infer(obs)
        infer_ms = (time.perf_counter() - start) * 1e3
        actions = np.asarray(out["actions"], np.float32)
        if self.reply == "array":
            return actions
        reply: dict[str, Any] = {"actions": actions, "server_timing": {"infer_ms": infer_ms}}
        if out.get("timing"):
            reply["timing"] = {str(k): float(v) for k, v in out["timing"].items()}
        return reply  # "video" is not sent: it can be hundreds of MB per chunk


def _health_check(connection: ws_server.ServerConnection, request: Any) -> Any:
    if request.path == "/healthz":
        return connection.respond(http.HTTPStatus.OK, "OK\n")
    return None


class ServerThread:
    """Runs a :class:`PolicyServer` on a background thread (tests, notebooks). ``port=0`` picks a free port.

    Example:
        >>> from evals.policies.baselines import ActionSpec, ZeroPolicy
        >>> with ServerThread(ZeroPolicy(ActionSpec.default("joint_velocity")), port=0) as srv:
        ...     srv.port > 0
        True
    """

    def __init__(self, policy: Policy, *, host: str = "127.0.0.1", port: int = 0, reply: str = "dict"):
        self.server = PolicyServer(policy, host=host, port=port, reply=reply)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name="policy-server", daemon=True)
        self._error: BaseException | None = None

    def _main(self) -> None:
        async def main() -> None:
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            await self.server.run(self._stop, self._ready)

        try:
            asyncio.run(main())
        except BaseException as err:  # surfaced by start()
            self._error = err
            self._ready.set()

    @property
    def port(self) -> int:
        return self.server.port

    def start(self, timeout: float = 10.0) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            raise RuntimeError(f"policy server did not start: {self._error}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

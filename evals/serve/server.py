"""Serves a :class:`~evals.contract.sessions.SessionPolicy` over the openpi / RoboArena websocket protocol.

Per connection: the first frame is the metadata, exactly RoboArena's ``PolicyServerConfig`` fields in the DROID
layout (strict RoboArena / DreamZero clients build the config from it); our own client, which connects with the
``X-Evals-Metadata`` header, also gets the policy's full metadata under ``"evals"``. Then each binary observation
frame is answered with a binary action frame: ``{"actions", "server_timing", "timing"}`` (openpi clients, our
client) or a bare ``(N, d)`` array (RoboArena clients, which send ``"endpoint"``); ``reply`` forces one shape.
``{"endpoint": "reset"}`` frames are answered with the text ``"reset successful"``. Errors are sent as a text
frame with the traceback and the connection is closed (code 1011), as openpi does. ``GET /healthz`` answers 200.

Sessions: a frame's ``session_id`` names its session; a connection that sends none has its own. A session
(re)starts on its first frame, after a reset frame, and when the ``session_id`` or the ``prompt`` changes; it
ends when its connection closes or moves to another session, and is evicted when idle or when a new session
needs its slot (see :mod:`evals.serve.batcher`). Concurrent requests are batched into one ``infer_batch`` call.

Chunks for DROID clients (everyone but our client, which checks lengths itself) must hold at least the 8 actions
they execute per chunk: shorter chunks are padded with their last action to ``pad_chunks_to`` when set, else
the request fails with a message saying so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import http
import itertools
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
from evals.contract.sessions import SessionPolicy
from evals.policies.sessions import PerSessionPolicies
from evals.serve.batcher import Answer, Batcher

logger = logging.getLogger(__name__)
REPLY_FORMATS = ("auto", "dict", "array")


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """How :class:`PolicyServer` serves (the CLI's flags, typed)."""

    host: str = "127.0.0.1"
    port: int = 8000
    reply: str = "auto"  # auto: bare arrays to RoboArena clients (they send "endpoint"), dicts otherwise
    batch_window_ms: float = 5.0  # how long a batch waits for more concurrent requests
    idle_timeout_s: float = 600.0  # sessions unused this long are evicted
    seed: int = 0  # every session starts with this seed
    pad_chunks_to: int | None = None  # pad shorter chunks for DROID clients (None: refuse them)
    action_space: str = "joint_position"  # advertised when the policy's metadata does not say

    def __post_init__(self) -> None:
        if self.reply not in REPLY_FORMATS:
            raise ValueError(f"reply must be one of {REPLY_FORMATS}, got {self.reply!r}")
        if self.pad_chunks_to is not None and self.pad_chunks_to < wire.DROID_OPEN_LOOP_HORIZON:
            raise ValueError(
                f"pad_chunks_to must be >= {wire.DROID_OPEN_LOOP_HORIZON}, got {self.pad_chunks_to}"
            )


class ShortChunkError(ValueError):
    """A chunk for a DROID client is shorter than the actions it executes per chunk, and padding is off."""


def droid_chunk(actions: np.ndarray, pad_to: int | None) -> np.ndarray:
    """``actions`` as a DROID client may execute them: padded with the last action up to ``pad_to`` when set;
    :class:`ShortChunkError` if shorter than the open-loop horizon without padding."""
    n = actions.shape[0]
    if pad_to is not None and n < pad_to:
        return np.concatenate([actions, np.repeat(actions[-1:], pad_to - n, axis=0)])
    if n < wire.DROID_OPEN_LOOP_HORIZON:
        raise ShortChunkError(
            f"the policy returned {n} actions; DROID clients execute {wire.DROID_OPEN_LOOP_HORIZON} per chunk "
            "(serve with --pad-chunks to repeat the last action)"
        )
    return actions


def shared_policy_sessions(policy: Policy, max_sessions: int = 16) -> PerSessionPolicies:
    """Every session served by the same ``policy`` instance (reset on each session start): for policies without
    per-episode state, and for tests that observe one instance."""
    return PerSessionPolicies(lambda seed: policy, policy.metadata, max_sessions)


@dataclasses.dataclass
class _Connection:
    """One client connection: its default session, current session and prompt, and its reply style."""

    default_key: str
    evals_client: bool  # our client: full metadata, dict replies, unpadded chunks
    key: str | None = None  # the session of its last request
    session_id: Any = None
    prompt: str = ""
    restart: bool = True
    sent_reset: bool = False
    warned: bool = False


class PolicyServer:
    """A websockets server for one session policy. ``await run(stop)`` serves until ``stop`` is set."""

    def __init__(self, sessions: SessionPolicy, options: ServeOptions = ServeOptions()) -> None:
        self.sessions = sessions
        self.options = options
        self.port = options.port
        meta = sessions.metadata
        self.strict_metadata = wire.roboarena_config(meta, options.action_space)
        self.evals_metadata = wire.evals_metadata_frame(meta, options.action_space)
        self.batcher = Batcher(
            sessions,
            window_s=options.batch_window_ms / 1e3,
            idle_timeout_s=options.idle_timeout_s,
            seed=options.seed,
        )
        self._connections = itertools.count()

    async def run(self, stop: asyncio.Event, ready: threading.Event | None = None) -> None:
        workers = [
            asyncio.create_task(self.batcher.run()),
            asyncio.create_task(self.batcher.evict_idle_forever(min(10.0, self.options.idle_timeout_s / 4))),
        ]
        try:
            async with ws_server.serve(
                self._handler,
                self.options.host,
                self.options.port,
                compression=None,
                max_size=None,
                # Inference may take longer than a ping round; clients use the same generous limits.
                ping_interval=60,
                ping_timeout=600,
                process_request=_health_check,
            ) as server:
                self.port = next(iter(server.sockets)).getsockname()[1]  # the bound port when port=0
                logger.info(
                    "serving %s on ws://%s:%d (up to %d sessions)",
                    self.sessions.metadata.name,
                    self.options.host,
                    self.port,
                    self.sessions.max_sessions,
                )
                if ready is not None:
                    ready.set()
                await stop.wait()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        logger.info("server stopped")

    async def _handler(self, ws: ws_server.ServerConnection) -> None:
        evals_client = ws.request is not None and wire.EVALS_HEADER in ws.request.headers
        conn = _Connection(default_key=f"connection-{next(self._connections)}", evals_client=evals_client)
        await ws.send(wire.packb(self.evals_metadata if evals_client else self.strict_metadata))
        try:
            while True:
                try:
                    frame = await ws.recv()
                    await self._answer(ws, conn, frame)
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
        finally:
            if conn.key is not None:
                await self.batcher.end(conn.key, "connection closed")

    async def _answer(self, ws: ws_server.ServerConnection, conn: _Connection, frame: Any) -> None:
        if isinstance(frame, str):
            raise TypeError("expected binary msgpack frames, got a text frame")
        start = time.perf_counter()
        message = wire.unpackb(frame)
        if not isinstance(message, dict):
            raise TypeError(f"expected a map per frame, got {type(message).__name__}")
        decode_ms = (time.perf_counter() - start) * 1e3
        if message.get(wire.ENDPOINT_KEY, "infer") == "reset":
            await self._reset(conn, message)
            await ws.send(wire.RESET_REPLY)
            return
        obs = wire.wire_to_obs(message)
        key, restart = await self._session_of(conn, obs)
        answer = await self.batcher.infer(key, obs, restart)
        start = time.perf_counter()
        reply = self._reply(conn, answer, decode_ms, roboarena=wire.ENDPOINT_KEY in message)
        data = wire.packb(reply)
        encode_ms = (time.perf_counter() - start) * 1e3
        await ws.send(data)
        logger.debug(
            "session %s: decode %.2f ms, queue %.2f ms, model %.2f ms (batch of %d), encode %.2f ms",
            key,
            decode_ms,
            answer.queue_ms,
            answer.model_ms,
            answer.batch_size,
            encode_ms,
        )

    async def _reset(self, conn: _Connection, message: dict[str, Any]) -> None:
        conn.sent_reset, conn.restart = True, True
        conn.prompt = str(message.get("prompt", conn.prompt))
        conn.session_id = message.get("session_id", conn.session_id)
        if conn.key is not None:  # the episode is over: free its slot now
            await self.batcher.end(conn.key, "reset frame")
            conn.key = None

    async def _session_of(self, conn: _Connection, obs: dict[str, Any]) -> tuple[str, bool]:
        """The request's session key and whether it must (re)start; ends the connection's previous session."""
        session_id = obs.pop("session_id", None)
        if session_id is None and not conn.sent_reset and not conn.warned:
            conn.warned = True
            logger.warning(
                "client %s sends no session_id and no reset frames: a new episode is only detected from a "
                "new prompt; a stateful policy needs a new session_id per episode",
                conn.default_key,
            )
        if session_id is not None:
            conn.session_id = session_id
        key = conn.default_key if conn.session_id is None else f"session-{conn.session_id}"
        prompt = str(obs.get("prompt", conn.prompt))
        obs["prompt"] = prompt
        restart = conn.restart or key != conn.key or prompt != conn.prompt
        if conn.key is not None and key != conn.key:
            await self.batcher.end(conn.key, "the client moved to another session")
        conn.key, conn.prompt, conn.restart = key, prompt, False
        return key, restart

    def _reply(self, conn: _Connection, answer: Answer, decode_ms: float, roboarena: bool) -> Any:
        actions = np.asarray(answer.output["actions"], np.float32)
        if actions.ndim == 1:
            actions = actions[None]
        if not conn.evals_client:
            actions = droid_chunk(actions, self.options.pad_chunks_to)
        shape = self.options.reply
        if shape == "auto":
            shape = "array" if roboarena and not conn.evals_client else "dict"
        if shape == "array":
            return actions
        server_timing = {
            "decode_ms": decode_ms,
            "queue_ms": answer.queue_ms,
            "model_ms": answer.model_ms,
            "batch_size": answer.batch_size,
        }
        reply: dict[str, Any] = {"actions": actions, "server_timing": server_timing}
        if answer.output.get("timing"):
            reply["timing"] = {str(k): float(v) for k, v in answer.output["timing"].items()}
        return reply  # "video" is not sent: it can be hundreds of MB per chunk


def _health_check(connection: ws_server.ServerConnection, request: Any) -> Any:
    if request.path == "/healthz":
        return connection.respond(http.HTTPStatus.OK, "OK\n")
    return None


class ServerThread:
    """Runs a :class:`PolicyServer` on a background thread (tests, notebooks). ``port=0`` picks a free port.

    ``policy`` is a :class:`SessionPolicy`, or a plain ``Policy`` that every session shares
    (:func:`shared_policy_sessions`). Keyword arguments are :class:`ServeOptions` fields.

    Example:
        >>> from evals.policies.baselines import ActionSpec, ZeroPolicy
        >>> with ServerThread(ZeroPolicy(ActionSpec.default("joint_velocity")), port=0) as srv:
        ...     srv.port > 0
        True
    """

    def __init__(self, policy: Policy | SessionPolicy, **options: Any) -> None:
        sessions = policy if isinstance(policy, SessionPolicy) else shared_policy_sessions(policy)
        self.server = PolicyServer(sessions, ServeOptions(**{"port": 0, **options}))
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

"""Gathers the requests of concurrent sessions into batched calls of one :class:`SessionPolicy`.

Every call into the policy (start, infer, end) goes through :class:`Batcher`, one at a time, on a worker thread
so the event loop keeps accepting frames. A batch waits at most ``window_s`` after its first request for
requests of the other live sessions (not at all when every live session is already in it); it holds at most one
request per session and at most ``max_sessions`` requests (a second request of a session waits for the next
batch). A batch that raises fails every request in it, and its sessions
are ended (their state is unknown) so that they restart on their next request.

Sessions unused for ``idle_timeout_s`` are ended (logged); a new session that finds every slot taken evicts the
least recently used one (logged). A request of an evicted session restarts it from that frame, with a warning.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from typing import Any

from evals.contract.sessions import SessionPolicy, SessionRequest
from evals.serve.sessions import SessionTable

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Answer:
    """One request's policy output and where its time went (ms)."""

    output: dict[str, Any]
    queue_ms: float  # from arrival to the start of its batch
    model_ms: float  # the batch's policy calls (starts + infer_batch), shared by its requests
    batch_size: int


@dataclasses.dataclass
class _Pending:
    key: str
    obs: dict[str, Any]
    restart: bool
    arrived: float
    future: asyncio.Future


class Batcher:
    """Serialises and batches the calls into ``policy``; ``await run()`` processes requests until cancelled."""

    def __init__(
        self, policy: SessionPolicy, *, window_s: float, idle_timeout_s: float, seed: int = 0
    ) -> None:
        if window_s < 0:
            raise ValueError(f"window_s must be >= 0, got {window_s}")
        self.policy = policy
        self.window_s = float(window_s)
        self.seed = int(seed)
        self.table = SessionTable(policy.max_sessions, idle_timeout_s)
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._deferred: deque[_Pending] = deque()
        self._lock = asyncio.Lock()  # one policy call at a time

    async def infer(self, key: str, obs: dict[str, Any], restart: bool) -> Answer:
        """Answer ``obs`` for session ``key``; ``restart`` (re)starts the session with ``obs["prompt"]`` first."""
        future = asyncio.get_running_loop().create_future()
        await self._queue.put(_Pending(key, obs, restart, time.perf_counter(), future))
        return await future

    async def end(self, key: str, reason: str) -> None:
        """End session ``key`` (unknown keys are ignored)."""
        if self.table.remove(key):
            logger.debug("ending session %s (%s)", key, reason)
            async with self._lock:
                await asyncio.to_thread(self.policy.end_session, key)

    async def run(self) -> None:
        """Gather and answer batches until cancelled."""
        while True:
            batch = await self._gather()
            await self._answer(batch)

    async def evict_idle_forever(self, period_s: float) -> None:
        """Every ``period_s``, end the sessions idle for longer than the timeout."""
        while True:
            await asyncio.sleep(period_s)
            now = time.monotonic()
            for key in self.table.idle(now):
                logger.info(
                    "evicting session %s: idle for %.0f s (> %.0f s)",
                    key,
                    self.table.idle_for(key, now),
                    self.table.idle_timeout_s,
                )
                await self.end(key, "idle")

    async def _gather(self) -> list[_Pending]:
        loop = asyncio.get_running_loop()
        pending, self._deferred = self._deferred, deque()
        first = pending.popleft() if pending else await self._queue.get()
        batch, keys, repeats = [first], {first.key}, []
        deadline = loop.time() + self.window_s
        while len(batch) < self.policy.max_sessions:
            if pending:
                item = pending.popleft()
            elif not self._queue.empty():
                item = self._queue.get_nowait()
            elif len(batch) >= len(self.table):
                break  # every live session is in: nobody else to wait for
            else:
                timeout = deadline - loop.time()
                if timeout <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), timeout)
                except TimeoutError:
                    break
            if item.key in keys:
                repeats.append(item)  # one request per session per batch
            else:
                batch.append(item)
                keys.add(item.key)
        self._deferred = deque([*pending, *repeats])
        return batch

    def _plan(self, batch: list[_Pending]) -> tuple[list[str], list[tuple[str, str]]]:
        """The sessions to end (evicted for room) and to (re)start before this batch's ``infer_batch``."""
        now, keys = time.monotonic(), {p.key for p in batch}
        evict: list[str] = []
        starts: list[tuple[str, str]] = []
        for p in batch:
            if p.key not in self.table:
                if not p.restart:
                    logger.warning("session %s was evicted; restarting it from this frame", p.key)
                victim = self.table.victim_for_new(keys)
                if victim is not None:
                    logger.info(
                        "evicting session %s: all %d session slots are in use (idle for %.1f s)",
                        victim,
                        self.table.max_sessions,
                        self.table.idle_for(victim, now),
                    )
                    self.table.remove(victim)
                    evict.append(victim)
                starts.append((p.key, str(p.obs.get("prompt", ""))))
            elif p.restart:
                starts.append((p.key, str(p.obs.get("prompt", ""))))
            self.table.touch(p.key, now)
        return evict, starts

    def _call_policy(
        self, evict: list[str], starts: list[tuple[str, str]], requests: list[SessionRequest]
    ) -> list[dict[str, Any]]:
        for key in evict:
            self.policy.end_session(key)
        for key, instruction in starts:
            logger.debug("starting session %s: %r", key, instruction)
            self.policy.start_session(key, instruction, self.seed)
        return self.policy.infer_batch(requests)

    async def _answer(self, batch: list[_Pending]) -> None:
        evict, starts = self._plan(batch)
        requests = [SessionRequest(p.key, p.obs) for p in batch]
        async with self._lock:
            begin = time.perf_counter()
            try:
                outputs = await asyncio.to_thread(self._call_policy, evict, starts, requests)
            except Exception as err:
                await self._fail(batch, err)
                return
            model_ms = (time.perf_counter() - begin) * 1e3
        for p, output in zip(batch, outputs, strict=True):
            if not p.future.done():
                answer = Answer(output, (begin - p.arrived) * 1e3, model_ms, len(batch))
                p.future.set_result(answer)

    async def _fail(self, batch: list[_Pending], err: Exception) -> None:
        for p in batch:
            self.table.remove(p.key)
            try:
                await asyncio.to_thread(self.policy.end_session, p.key)
            except Exception:  # the batch's own error is the one to report
                logger.debug("end_session(%s) failed after a failed batch", p.key, exc_info=True)
            if not p.future.done():
                p.future.set_exception(err)

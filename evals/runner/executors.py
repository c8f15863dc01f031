"""`LocalExecutor`: run episode specs in N `spawn`ed worker processes, yielding results as they finish.

Workers are started with `spawn` (EGL contexts do not survive `fork`); each builds its own `PolicyFactory`
and envs once. The driver hands a worker one episode per free slot (`JobConfig.batch` slots: `--batch`), so
it always knows which episodes a worker is on: if a worker process dies (segfault, OOM kill), those episodes
are recorded as errors, a fresh worker is started, and the run continues. `workers=1` runs in the driver
process.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import signal
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

from evals.runner.episode import EpisodeResult, error_result
from evals.runner.spec import EpisodeSpec
from evals.runner.worker import EpisodeWorker, JobConfig


class WorkerStartError(RuntimeError):
    """A worker could not build its policy factory; the run cannot proceed."""


def _worker_main(config: JobConfig, worker_id: int, tasks: Any, results: Any) -> None:
    # Ctrl-C reaches the whole process group; only the driver handles it (it stops the workers).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        worker = EpisodeWorker(config)
    except Exception as exc:
        results.put(("start_error", worker_id, f"{type(exc).__name__}: {exc}"))
        return
    if config.batch > 1:  # reads the next spec when a slot frees; the driver sends one per result
        for result in worker.run_batched(iter(tasks.get, None)):
            results.put(("result", worker_id, result))
    else:
        while True:
            spec = tasks.get()
            if spec is None:
                break
            results.put(("result", worker_id, worker.run(spec)))
    worker.close()


def crashed_result(spec: EpisodeSpec, exitcode: int | None) -> EpisodeResult:
    """Result for an episode whose worker process died under it."""
    return error_result(spec, f"worker process died (exit code {exitcode})", "WorkerCrash")


class LocalExecutor:
    def __init__(self, workers: int = 1, poll_seconds: float = 0.2):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.poll_seconds = poll_seconds

    def run(
        self, specs: list[EpisodeSpec], config: JobConfig, factory: Any | None = None
    ) -> Iterator[EpisodeResult]:
        """Yield one `EpisodeResult` per spec, in completion order. `factory` (in-process only) reuses an
        already-built policy factory instead of building one from `config`."""
        if self.workers == 1 or len(specs) <= 1:
            yield from self._run_inline(specs, config, factory)
        else:
            yield from self._run_pool(specs, config)

    @staticmethod
    def _run_inline(
        specs: list[EpisodeSpec], config: JobConfig, factory: Any | None
    ) -> Iterator[EpisodeResult]:
        worker = EpisodeWorker(config, factory=factory)
        try:
            if config.batch > 1:
                yield from worker.run_batched(specs)
            else:
                for spec in specs:
                    yield worker.run(spec)
        finally:
            worker.close_envs()
            if factory is None:
                worker.close()

    def _run_pool(self, specs: list[EpisodeSpec], config: JobConfig) -> Iterator[EpisodeResult]:
        pool = _Pool(config, specs)
        try:
            for _ in range(min(self.workers, len(specs))):
                pool.start_worker()
            while pool.busy:
                try:
                    msg = pool.results.get(timeout=self.poll_seconds)
                except queue.Empty:
                    yield from pool.reap_dead_workers()
                    continue
                yield pool.handle(msg)
            _stop(pool.procs, grace_seconds=10)
        finally:
            _stop(pool.procs, grace_seconds=0)


class _Pool:
    """The driver's view of its worker processes: who runs which episode, and what is still to hand out."""

    def __init__(self, config: JobConfig, specs: list[EpisodeSpec]):
        self.config = config
        self.ctx = mp.get_context("spawn")
        self.results = self.ctx.Queue()
        self.procs: dict[int, Any] = {}
        self.task_queues: dict[int, Any] = {}
        self.inflight: dict[int, list[EpisodeSpec]] = {}  # worker id -> the episodes it runs now
        self.last_case: dict[int, str] = {}
        self.pending = deque(specs)
        self.next_id = 0

    def start_worker(self) -> None:
        wid, self.next_id = self.next_id, self.next_id + 1
        self.task_queues[wid] = self.ctx.Queue()
        self.procs[wid] = self.ctx.Process(
            target=_worker_main, args=(self.config, wid, self.task_queues[wid], self.results), daemon=True
        )
        with _sigint_ignored():  # inherited through exec: a Ctrl-C during worker start-up is the driver's
            self.procs[wid].start()
        self.inflight[wid] = []
        for _ in range(max(1, self.config.batch)):  # one episode per slot
            self.assign(wid)

    def take(self, wid: int) -> EpisodeSpec:
        # Prefer another seed of the worker's last case: its env is cached there (a build costs seconds).
        for i, spec in enumerate(self.pending):
            if spec.case_id == self.last_case.get(wid):
                del self.pending[i]
                return spec
        return self.pending.popleft()

    def assign(self, wid: int) -> None:
        """Hand worker `wid` its next episode, or tell it to exit when none is left."""
        if self.pending:
            spec = self.take(wid)
            self.inflight[wid].append(spec)
            self.last_case[wid] = spec.case_id
            self.task_queues[wid].put(spec)
        else:
            self.task_queues[wid].put(None)

    @property
    def busy(self) -> bool:
        """Some episode is still out with a worker."""
        return any(self.inflight.values())

    def handle(self, msg: tuple) -> EpisodeResult:
        kind, wid, payload = msg
        if kind == "start_error":
            raise WorkerStartError(f"worker could not start: {payload}")
        self.inflight[wid] = [s for s in self.inflight[wid] if s.name != payload.spec.name]
        if self.procs[wid].is_alive():
            self.assign(wid)
        elif self.pending:
            self.start_worker()
        return payload

    def reap_dead_workers(self) -> Iterator[EpisodeResult]:
        """Results of workers that died: what they sent before dying, then their lost episode as an error."""
        for wid in [w for w, specs in self.inflight.items() if specs and not self.procs[w].is_alive()]:
            # Everything a dead process sent is readable now: drain before declaring it lost.
            for msg in self._drain():
                yield self.handle(msg)
            lost, self.inflight[wid] = self.inflight[wid], []
            for spec in lost:
                yield crashed_result(spec, self.procs[wid].exitcode)
            if lost and self.pending:
                self.start_worker()

    def _drain(self) -> list[tuple]:
        drained = []
        while True:
            try:
                drained.append(self.results.get(timeout=0.05))
            except queue.Empty:
                return drained


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _stop(procs: dict[int, Any], grace_seconds: float) -> None:
    """Let finished workers exit on their own for `grace_seconds`, then terminate (and kill) the rest."""
    for p in procs.values():
        p.join(timeout=grace_seconds)
    for p in procs.values():
        if p.is_alive():
            p.terminate()
    for p in procs.values():
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)

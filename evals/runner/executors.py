"""`LocalExecutor`: run episode specs in N `spawn`ed worker processes, yielding results as they finish.

Workers are started with `spawn` (EGL contexts do not survive `fork`); each builds its own `PolicyFactory`
and envs once. The driver hands a worker one episode per free slot (`Dispatcher`; `JobConfig.batch` slots:
`--batch`), so it always knows which episodes a worker is on: if a worker process dies (segfault, OOM kill),
a fresh worker is started and each of its episodes is retried once on another worker, then recorded as an
error; the run continues. `workers=1` runs in the driver process (a crash there is the driver's: `--resume`
continues).

`make_executor` picks the executor of a run: this one, or `RayExecutor` (evals/runner/ray_executor.py).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import queue
import signal
import threading
from collections.abc import Iterator
from typing import Any, Protocol

from evals.runner.dispatch import Dispatcher, WorkerStartError, lost_results
from evals.runner.episode import EpisodeResult
from evals.runner.plan import ExecutorSettings
from evals.runner.spec import EpisodeSpec
from evals.runner.worker import EpisodeWorker, JobConfig

__all__ = ["Executor", "LocalExecutor", "WorkerStartError", "make_executor"]


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


class Executor(Protocol):
    def run(
        self, specs: list[EpisodeSpec], config: JobConfig, factory: Any | None = None
    ) -> Iterator[EpisodeResult]: ...


def make_executor(settings: ExecutorSettings) -> Executor:
    """The executor a run's settings name: local processes, or Ray actors (imported only then)."""
    if settings.kind == "ray":
        from evals.runner.ray_executor import RayExecutor

        return RayExecutor(settings.workers, settings.ray)
    return LocalExecutor(settings.workers)


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
            results = worker.run_batched(specs) if config.batch > 1 else map(worker.run, specs)
            for result in results:
                result.row["attempts"] = 1
                yield result
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
    """The driver's view of its worker processes: who runs which episode (`Dispatcher`), and the queues."""

    def __init__(self, config: JobConfig, specs: list[EpisodeSpec]):
        self.config = config
        self.ctx = mp.get_context("spawn")
        self.results = self.ctx.Queue()
        self.procs: dict[int, Any] = {}
        self.task_queues: dict[int, Any] = {}
        self.dispatch = Dispatcher(specs)
        self.next_id = 0

    @property
    def inflight(self) -> dict[int, list[EpisodeSpec]]:
        return self.dispatch.inflight

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

    def assign(self, wid: int) -> None:
        """Hand worker `wid` its next episode, or tell it to exit when none is left."""
        self.task_queues[wid].put(self.dispatch.next_for(wid))

    @property
    def busy(self) -> bool:
        """Some episode is still out with a worker."""
        return any(self.inflight.values())

    def handle(self, msg: tuple) -> EpisodeResult:
        kind, wid, payload = msg
        if kind == "start_error":
            raise WorkerStartError(f"worker could not start: {payload}")
        payload.row["attempts"] = self.dispatch.done(wid, payload.spec)
        if self.procs[wid].is_alive():
            self.assign(wid)
        elif self.dispatch.has_pending:
            self.start_worker()
        return payload

    def reap_dead_workers(self) -> Iterator[EpisodeResult]:
        """Results of workers that died: what they sent before dying; each lost episode is retried once on
        a fresh worker, then recorded as an error."""
        for wid in [w for w, specs in self.inflight.items() if specs and not self.procs[w].is_alive()]:
            # Everything a dead process sent is readable now: drain before declaring it lost.
            for msg in self._drain():
                yield self.handle(msg)
            cause = f"worker process died (exit code {self.procs[wid].exitcode})"
            yield from lost_results(self.dispatch.lost(wid), cause)
            if self.dispatch.has_pending:
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

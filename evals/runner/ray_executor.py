"""`RayExecutor`: the sibling of `LocalExecutor` for a Ray cluster (`--executor ray`).

Each worker is a Ray actor that owns an `EpisodeWorker` (its policy factory and envs, built once and reused
across episodes) and runs one episode per call. The driver hands out one episode at a time through the same
`Dispatcher` as the local executor, so it knows what a dead actor was running: the episode is retried once
on another actor, then recorded as an error. Actors never touch the run directory: results, dataset
recordings and MP4 bytes come back to the driver, which records them exactly as for a local run.

The project's packages and `MUJOCO_GL` reach the workers through Ray's runtime environment; the third-party
dependencies must be installed on every node (the same image or lock file as the driver). `ray` is an
optional extra (`pip install .[ray]`) and is imported only here, on use.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evals.runner.dispatch import Dispatcher, WorkerStartError, lost_results
from evals.runner.episode import EpisodeResult
from evals.runner.exit_codes import UsageError
from evals.runner.ray_settings import RaySettings
from evals.runner.spec import EpisodeSpec
from evals.runner.worker import EpisodeWorker, JobConfig, store_video

# The packages shipped to the workers (py_modules), found beside this one: a checkout or site-packages.
PROJECT_PACKAGES = ("evals", "envs", "dreamzero_jax")
# Rendering set-up the workers inherit from the driver (headless EGL when the driver sets nothing).
FORWARDED_ENV = {"MUJOCO_GL": "egl", "PYOPENGL_PLATFORM": "egl"}


def require_ray() -> None:
    """Raise a one-line `UsageError` when the optional `ray` package is missing."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise UsageError(
            "--executor ray needs the ray package: pip install '.[ray]' (or use --executor local)"
        ) from None


def runtime_env(extra_env_vars: dict[str, str] | None = None) -> dict[str, Any]:
    """The job's runtime environment: this project's packages (uploaded to the cluster) and the rendering
    variables. `extra_env_vars` adds variables (tests put their fake env package on PYTHONPATH)."""
    root = Path(__file__).resolve().parents[2]
    modules = [str(root / name) for name in PROJECT_PACKAGES if (root / name / "__init__.py").is_file()]
    env_vars = {name: os.environ.get(name, default) for name, default in FORWARDED_ENV.items()}
    env_vars.update(extra_env_vars or {})
    return {"py_modules": modules, "env_vars": env_vars, "excludes": ["__pycache__", "*.pyc"]}


def connect(settings: RaySettings, workers: int) -> bool:
    """Connect this process to the cluster at `settings.address` (None: start a local one on loopback).
    Returns True when this call connected (the caller disconnects), False when Ray was already initialised
    by the caller (library use: its runtime environment must then ship the project, see `runtime_env`)."""
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"runtime_env": runtime_env(), "logging_level": "WARNING"}
    if settings.address is None:  # "local" ignores RAY_ADDRESS: no address means this machine only
        cpus = max(os.cpu_count() or 1, math.ceil(workers * settings.episode_cpus))
        kwargs |= {"address": "local", "num_cpus": cpus, "include_dashboard": False}
        kwargs |= {"_node_ip_address": "127.0.0.1"}
    else:
        kwargs["address"] = settings.address
    previous = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(**kwargs)
    except Exception as exc:  # no cluster at the address, a version mismatch, a refused connection
        where = settings.address or "a local cluster"
        raise WorkerStartError(f"could not connect to Ray ({where}): {_first_line(exc)}") from None
    finally:
        # ray.init makes SIGTERM exit the driver at once; the runner's own handler stops it cleanly.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, previous)
    return True


def actor_options(settings: RaySettings) -> dict[str, Any]:
    """What each actor (one episode at a time) reserves; no Ray-side restarts or retries: the driver
    retries a lost episode on another actor itself."""
    options: dict[str, Any] = {"num_cpus": settings.episode_cpus, "max_restarts": 0, "max_task_retries": 0}
    if settings.episode_gpus:
        options["num_gpus"] = settings.episode_gpus
    if settings.episode_resources:
        options["resources"] = dict(settings.episode_resources)
    return options


class EpisodeActor:
    """One Ray worker: builds its `EpisodeWorker` on the first call and runs one episode per call."""

    def __init__(self, config: JobConfig):
        # A terminal's Ctrl-C reaches a local cluster's workers too; only the driver handles it (it kills
        # the actors), so an episode is never cut short into a bogus error row.
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.config = config
        self.worker: EpisodeWorker | None = None

    def run(self, spec: EpisodeSpec) -> tuple[str, Any]:
        """("result", (EpisodeResult, MP4 bytes or None)), or ("start_error", message)."""
        if self.worker is None:
            try:
                self.worker = EpisodeWorker(self.config)
            except Exception as exc:
                return "start_error", f"{type(exc).__name__}: {exc}"
        return "result", self.worker.run_detached(spec)


class RayExecutor:
    def __init__(self, workers: int, settings: RaySettings | None = None, poll_seconds: float = 0.5):
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self.workers = workers
        self.settings = settings or RaySettings()
        self.poll_seconds = poll_seconds

    def run(
        self, specs: list[EpisodeSpec], config: JobConfig, factory: Any | None = None
    ) -> Iterator[EpisodeResult]:
        """Yield one `EpisodeResult` per spec, in completion order (videos already written by the driver).
        `factory` is ignored: every actor builds its own from `config`."""
        if not specs:
            return
        require_ray()
        import ray

        owned = connect(self.settings, self.workers)
        pool = _ActorPool(ray, config, specs, actor_options(self.settings))
        try:
            _warn_if_unplaceable(ray, pool.options)
            for _ in range(min(self.workers, len(specs))):
                pool.start_actor()
            while pool.refs:
                yield from pool.collect(self.poll_seconds)
        finally:  # also on Ctrl-C: no actor outlives the run
            pool.kill_all()
            if owned:
                ray.shutdown()


class _ActorPool:
    """The driver's view of its actors: who runs which episode (`Dispatcher`) and the pending calls."""

    def __init__(self, ray: Any, config: JobConfig, specs: list[EpisodeSpec], options: dict[str, Any]):
        self.ray = ray
        self.config = config
        self.options = options
        self.actor_class = ray.remote(EpisodeActor).options(**options)
        self.dispatch = Dispatcher(specs)
        self.actors: dict[int, Any] = {}
        self.refs: dict[Any, int] = {}  # pending `run` call -> worker id
        self.next_id = 0

    def start_actor(self) -> None:
        wid, self.next_id = self.next_id, self.next_id + 1
        self.actors[wid] = self.actor_class.remote(self.config)
        self.assign(wid)

    def assign(self, wid: int) -> None:
        """Hand actor `wid` its next episode, or retire it when none is left."""
        spec = self.dispatch.next_for(wid)
        if spec is None:
            self.retire(wid)
        else:
            self.refs[self.actors[wid].run.remote(spec)] = wid

    def retire(self, wid: int) -> None:
        actor = self.actors.pop(wid, None)
        if actor is not None:
            self.ray.kill(actor, no_restart=True)

    def kill_all(self) -> None:
        for wid in list(self.actors):
            self.retire(wid)
        self.refs.clear()

    def collect(self, timeout: float) -> Iterator[EpisodeResult]:
        """Wait up to `timeout` s for one finished call; yield its result (or the lost episode's error)."""
        ready, _ = self.ray.wait(list(self.refs), num_returns=1, timeout=timeout)
        for ref in ready:
            wid = self.refs.pop(ref)
            try:
                kind, payload = self.ray.get(ref)
            except self.ray.exceptions.RayActorError as exc:  # the actor's process (or node) died
                if getattr(exc, "actor_init_failed", False):  # it never started: a set-up problem
                    raise WorkerStartError(f"worker could not start: {_first_line(exc)}") from None
                yield from self._lost(wid, exc)
                continue
            if kind == "start_error":
                raise WorkerStartError(f"worker could not start: {payload}")
            result, video = payload
            result.row["attempts"] = self.dispatch.done(wid, result.spec)
            if video is not None and self.config.run_dir is not None:
                store_video(self.config.run_dir, result, video)
            self.assign(wid)  # before yielding: the actor starts its next episode while the driver records
            yield result

    def _lost(self, wid: int, exc: Exception) -> Iterator[EpisodeResult]:
        lost = self.dispatch.lost(wid)
        self.retire(wid)
        yield from lost_results(lost, f"Ray worker died ({_first_line(exc)})")
        if self.dispatch.has_pending:
            self.start_actor()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


def _warn_if_unplaceable(ray: Any, options: dict[str, Any]) -> None:
    """Say so when no live node has what one actor asks for: Ray then waits (for an autoscaled node)."""
    need = {"CPU": options["num_cpus"], "GPU": options.get("num_gpus", 0), **options.get("resources", {})}
    need = {name: amount for name, amount in need.items() if amount}
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if not any(all(node.get(k, 0) >= v for k, v in need.items()) for node in nodes):
        print(
            f"warning: no node of the Ray cluster has {need}; the workers wait until such a node joins",
            file=sys.stderr,
        )

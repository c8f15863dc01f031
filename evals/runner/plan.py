"""`RunPlan`: everything one runner invocation will do, resolved once from the command line, then frozen.

The CLI (`evals.run`) turns its flags into a `RunRequest`; `build_plan` validates it, loads the suite (or
the run directory being resumed) and returns a `RunPlan`. The session, executors and recorder only ever see
these typed objects. Every mistake raises `UsageError` (or `SuiteError`) with one line; nothing has run yet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.dataset.lerobot_writer import DatasetDirError, check_new_dataset_dir
from evals.dataset.options import DEFAULT_SIZE, DatasetOptions
from evals.runner.backend import EnvBackend
from evals.runner.exit_codes import UsageError
from evals.runner.provenance import task_fingerprints, utc_now
from evals.runner.ray_settings import RaySettings, ray_settings
from evals.runner.recorder import RunRecorder
from evals.runner.spec import EpisodeSpec
from evals.runner.suite import Suite, expand, filter_specs, load_suite

VIDEO_MODES = ("all", "failures", "none")
EXECUTORS = ("local", "ray")


@dataclass(frozen=True)
class RunRequest:
    """The runner's flags as given (None = not given), before any validation or file access."""

    suite: str | None = None
    policy: str | None = None
    checkpoint: str | None = None
    policy_options: Mapping[str, str] = field(default_factory=dict)
    cases: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    seeds_override: str | None = None  # "S,S,..." as typed
    max_episodes: int | None = None
    workers: int = 1
    batch: int = 1  # --batch: episodes each worker runs side by side, due chunks in one policy call
    executor: str = "local"  # --executor local|ray
    ray_address: str | None = None  # --ray-address auto|HOST:PORT (None: start a local Ray cluster)
    episode_cpus: float = 1.0  # --episode-cpus: CPUs Ray reserves per worker (one episode at a time)
    episode_gpus: float = 0.0  # --episode-gpus
    episode_resources: Mapping[str, float] = field(default_factory=dict)  # --episode-resource NAME=AMOUNT
    output: str | None = None
    resume: str | None = None
    video: str | None = None
    video_stride: int | None = None  # --video-stride K
    quiet: bool = False
    dataset: str | None = None  # --dataset DIR
    dataset_size: tuple[int, int] | None = None  # --dataset-size H W
    dataset_all: bool = False  # --dataset-all


@dataclass(frozen=True)
class Selection:
    """Which episodes of the suite run: case-id globs AND tags (each any-of), seeds, a cap."""

    cases: tuple[str, ...] | None = None
    tags: tuple[str, ...] | None = None
    seeds_override: tuple[int, ...] | None = None
    max_episodes: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form recorded in run.json (lists or null)."""
        return {
            "cases": _list_or_none(self.cases),
            "tags": _list_or_none(self.tags),
            "seeds_override": _list_or_none(self.seeds_override),
            "max_episodes": self.max_episodes,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Selection:
        return cls(
            cases=_tuple_or_none(d.get("cases")),
            tags=_tuple_or_none(d.get("tags")),
            seeds_override=_tuple_or_none(d.get("seeds_override")),
            max_episodes=d.get("max_episodes"),
        )


@dataclass(frozen=True)
class PolicySpec:
    """What the policy builder gets: the spec string, an optional checkpoint and free-form options."""

    spec: str
    checkpoint: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)  # a plain dict: it must pickle into workers


@dataclass(frozen=True)
class OutputSettings:
    run_dir: Path | None  # None: results/<suite>/<time>Z_<policy>/, named once the policy is built
    video: str = "failures"
    quiet: bool = False
    video_stride: int = 1  # a video keeps the reset view and every video_stride-th step


@dataclass(frozen=True)
class ExecutorSettings:
    workers: int = 1
    kind: str = "local"  # one of EXECUTORS
    ray: RaySettings = field(default_factory=RaySettings)  # used when kind == "ray"
    batch: int = 1  # episodes per worker run side by side (evals.runner.batched)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form recorded in run.json (per session: a resume may use another executor)."""
        d: dict[str, Any] = {"kind": self.kind, "workers": self.workers, "batch": self.batch}
        if self.kind == "ray":
            d["ray"] = self.ray.to_dict()
        return d


@dataclass(frozen=True)
class RunPlan:
    suite: Suite
    selection: Selection
    policy: PolicySpec
    output: OutputSettings
    executor: ExecutorSettings
    fingerprints: Mapping[str, str | None]  # task -> fingerprint, as the envs report them now
    resumed: Mapping[str, Any] | None = None  # run.json of the run being continued (None: a new run)
    dataset: DatasetOptions | None = None  # `--dataset`: also record the episodes as a LeRobot dataset

    @property
    def is_resume(self) -> bool:
        return self.resumed is not None


def _list_or_none(values: tuple | None) -> list | None:
    return None if values is None else list(values)


def _tuple_or_none(values: Any) -> tuple | None:
    return None if values is None else tuple(values)


def parse_seeds(text: str | None) -> tuple[int, ...] | None:
    """'0,3,7' -> (0, 3, 7); None stays None."""
    if text is None:
        return None
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise UsageError(f"--seeds-override: expected comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise UsageError("--seeds-override: give at least one seed, all >= 0")
    return seeds


def default_run_dir(suite_name: str, policy_name: str) -> Path:
    """results/<suite>/<UTC time>Z_<policy>/ (the policy name made file-name safe)."""
    stamp = re.sub(r"[^0-9T]", "", utc_now().split("+")[0])
    safe_policy = re.sub(r"[^A-Za-z0-9_.-]+", "-", policy_name).strip("-") or "policy"
    return Path("results") / suite_name / f"{stamp}Z_{safe_policy}"


def select_episodes(suite: Suite, selection: Selection) -> list[EpisodeSpec]:
    """The selected episodes in suite order; an empty selection is a usage error."""
    seeds = list(selection.seeds_override) if selection.seeds_override is not None else None
    specs = filter_specs(expand(suite, seeds), cases=selection.cases, tags=selection.tags)
    if selection.max_episodes is not None:
        specs = specs[: selection.max_episodes]
    if not specs:
        given = [
            f"--{k} {' '.join(v)}" for k, v in (("cases", selection.cases), ("tags", selection.tags)) if v
        ]
        raise UsageError(
            f"no episodes of suite {suite.name!r} match {' and '.join(given) or 'the selection'}"
        )
    return specs


def _check_numbers(request: RunRequest) -> None:
    if request.workers < 1:
        raise UsageError("--workers must be >= 1")
    if request.batch < 1:
        raise UsageError("--batch must be >= 1")
    if request.batch > 1 and request.executor == "ray":
        # Ray actors run one episode at a time (the dispatcher's retry bookkeeping); batching inside an
        # actor is the next step, not a silent no-op.
        raise UsageError("--batch runs on the local executor only; drop --batch or use --executor local")
    if request.max_episodes is not None and request.max_episodes < 1:
        raise UsageError("--max-episodes must be >= 1")
    if request.video is not None and request.video not in VIDEO_MODES:
        raise UsageError(f"--video must be one of {', '.join(VIDEO_MODES)}")
    if request.video_stride is not None and request.video_stride < 1:
        raise UsageError("--video-stride must be >= 1")


def _executor_settings(request: RunRequest) -> ExecutorSettings:
    """`--executor` and its Ray flags -> ExecutorSettings (`--executor ray` needs the `ray` package)."""
    if request.executor not in EXECUTORS:
        raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}")
    ray = ray_settings(
        request.executor == "ray",
        address=request.ray_address,
        cpus=request.episode_cpus,
        gpus=request.episode_gpus,
        resources=request.episode_resources,
    )
    return ExecutorSettings(request.workers, request.executor, ray, batch=request.batch)


def _check_dataset_flags(request: RunRequest) -> None:
    if request.dataset is None and (request.dataset_size is not None or request.dataset_all):
        raise UsageError("--dataset-size / --dataset-all need --dataset DIR")
    if request.dataset is not None and request.resume:
        raise UsageError("--dataset records a fresh run only; drop --dataset or start a new run")


def _dataset_options(request: RunRequest, suite: Suite, selection: Selection) -> DatasetOptions | None:
    """`--dataset*` -> DatasetOptions (None without --dataset): a new or empty directory, one fps."""
    if request.dataset is None:
        return None
    size = request.dataset_size or DEFAULT_SIZE
    if min(size) < 1:
        raise UsageError(f"--dataset-size: H and W must be >= 1, got {size[0]} {size[1]}")
    if len({s.control_freq for s in select_episodes(suite, selection)}) > 1:
        raise UsageError("--dataset: the selected cases differ in control_freq; one dataset has one fps")
    try:
        check_new_dataset_dir(request.dataset)
    except DatasetDirError as e:
        raise UsageError(str(e)) from None
    return DatasetOptions(
        root=request.dataset, size=(int(size[0]), int(size[1])), keep_all=request.dataset_all
    )


def _fingerprints(backend: EnvBackend, suite: Suite) -> dict[str, str | None]:
    return task_fingerprints(backend, [c["task"] for c in suite.cases])


def _plan_new_run(request: RunRequest, backend: EnvBackend) -> RunPlan:
    if not request.suite:
        raise UsageError("--suite FILE is required (or --resume RUN_DIR)")
    suite = load_suite(request.suite, backend)
    selection = Selection(
        cases=request.cases,
        tags=request.tags,
        seeds_override=parse_seeds(request.seeds_override),
        max_episodes=request.max_episodes,
    )
    return RunPlan(
        suite=suite,
        selection=selection,
        policy=PolicySpec(request.policy or "expert", request.checkpoint, dict(request.policy_options)),
        output=OutputSettings(
            Path(request.output) if request.output else None,
            request.video or "failures",
            request.quiet,
            request.video_stride or 1,
        ),
        executor=_executor_settings(request),
        fingerprints=_fingerprints(backend, suite),
        dataset=_dataset_options(request, suite, selection),
    )


def _check_resume_flags(request: RunRequest, info: Mapping[str, Any], suite: Suite) -> None:
    """A resumed run keeps its suite, policy and selection: a flag may repeat them, never change them."""
    recorded_flags = (
        ("suite", request.suite, suite.path),
        ("policy", request.policy, info["policy_spec"]),
        ("checkpoint", request.checkpoint, info.get("checkpoint")),
    )
    for flag, given, recorded in recorded_flags:
        if given is not None and given != recorded:
            raise UsageError(f"--resume: this run used --{flag} {recorded}; drop --{flag} {given}")
    recorded_options = dict(info.get("policy_options") or {})
    if request.policy_options and dict(request.policy_options) != recorded_options:
        raise UsageError(f"--resume: this run used policy options {recorded_options}; drop --policy-opt")
    selection_flags = (request.cases, request.tags, request.seeds_override, request.max_episodes)
    if any(v is not None for v in (*selection_flags, request.output)):
        raise UsageError(
            "--resume reuses the run's selection; drop --cases/--tags/--seeds-override/--max-episodes/--output"
        )


def _check_tasks_unchanged(backend: EnvBackend, info: Mapping[str, Any], suite: Suite) -> dict:
    try:
        current = _fingerprints(backend, suite)
    except ValueError as e:  # a task of the run no longer exists
        raise UsageError(f"--resume: {e}") from None
    for task, fp in info.get("task_fingerprints", {}).items():
        if current.get(task) != fp:
            raise UsageError(
                f"--resume: task {task!r} changed since this run started (fingerprint); start a new run"
            )
    return current


def _plan_resume(request: RunRequest, backend: EnvBackend) -> RunPlan:
    recorder = RunRecorder(request.resume)
    if not recorder.run_json.is_file():
        raise UsageError(f"--resume {request.resume}: not a run directory (no run.json)")
    info = recorder.read_run_json()
    suite = Suite.from_dict(info["suite"])
    _check_resume_flags(request, info, suite)
    fingerprints = _check_tasks_unchanged(backend, info, suite)
    return RunPlan(
        suite=suite,
        selection=Selection.from_dict(info["selection"]),
        policy=PolicySpec(
            info["policy_spec"], info.get("checkpoint"), dict(info.get("policy_options") or {})
        ),
        output=OutputSettings(
            recorder.run_dir,
            request.video or info.get("video", "failures"),
            request.quiet,
            request.video_stride or int(info.get("video_stride", 1)),
        ),
        executor=_executor_settings(request),
        fingerprints=fingerprints,
        resumed=info,
    )


def build_plan(request: RunRequest, backend: EnvBackend) -> RunPlan:
    """Resolve suite, selection, policy and run directory (new run or resume); no episode runs here."""
    _check_numbers(request)
    _check_dataset_flags(request)
    plan = _plan_resume(request, backend) if request.resume else _plan_new_run(request, backend)
    if plan.executor.batch > 1 and plan.policy.spec.startswith("remote:"):
        # One connection serves every episode of a worker: side-by-side episodes would reset each other.
        raise UsageError("--batch needs a policy with a state per episode; remote: runs with --batch 1")
    return plan

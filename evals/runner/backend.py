"""`EnvBackend`: the four env-package functions the runner needs, bundled so tests can inject a fake.

The default backend imports `envs` lazily (so `python -m evals.run --help` stays fast). Every field is a
module-level function, so a backend pickles by reference into `spawn` worker processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EnvBackend:
    make: Callable[..., Any]  # make(task, **kwargs) -> gymnasium.Env
    list_tasks: Callable[[], list[str]]
    list_embodiments: Callable[[], list[str]]
    task_info: Callable[[str], dict[str, Any]]


def _make(task: str, **kwargs: Any) -> Any:
    import envs

    return envs.make(task, **kwargs)


def _list_tasks() -> list[str]:
    import envs

    return list(envs.list_tasks())


def _list_embodiments() -> list[str]:
    import envs

    return list(envs.list_embodiments())


def _task_info(task: str) -> dict[str, Any]:
    import envs

    return dict(envs.task_info(task))


def default_backend() -> EnvBackend:
    """The real simulated environments from the `envs` package."""
    return EnvBackend(
        make=_make, list_tasks=_list_tasks, list_embodiments=_list_embodiments, task_info=_task_info
    )

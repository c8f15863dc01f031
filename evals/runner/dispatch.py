"""`Dispatcher`: which episode each worker runs next, and the retry rule for a worker that dies under one.

Both executors (local processes and Ray actors) hand out one episode per free slot of a worker (one slot, or
`--batch` slots for local workers), so the driver always knows what a worker was running when it died. Each
such episode goes back to the front of the queue and is retried
once on another worker; if that worker dies too, it is recorded as an error (`WorkerCrash`). The number of
tries is the episode's `attempts` column, so the same crash gives the same table under either executor.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator

from evals.runner.episode import EpisodeResult, error_result
from evals.runner.spec import EpisodeSpec

MAX_ATTEMPTS = 2  # the first try and one retry on another worker


class WorkerStartError(RuntimeError):
    """A worker could not start (its policy factory failed to build, or the cluster is unreachable); the
    run cannot proceed."""


def crashed_result(spec: EpisodeSpec, attempts: int) -> EpisodeResult:
    """The error row of an episode whose worker process died on each of its `attempts` tries.

    The message is the same whatever the executor (an exit code or Ray's cause is printed as a warning
    instead), so the tables of a local and a Ray run with the same crash are identical."""
    result = error_result(
        spec, f"worker process died during the episode ({attempts} attempts)", "WorkerCrash"
    )
    result.row["attempts"] = attempts
    return result


def lost_results(lost: list[tuple[EpisodeSpec, int, bool]], cause: str) -> Iterator[EpisodeResult]:
    """Warn on stderr about each episode a dead worker held (`cause`: how it died, executor-specific) and
    yield the error rows of those not retried."""
    for spec, attempts, retry in lost:
        print(
            f"warning: {spec.name}: {cause} on attempt {attempts}"
            + ("; retrying on another worker" if retry else "; recorded as an error"),
            file=sys.stderr,
        )
        if not retry:
            yield crashed_result(spec, attempts)


class Dispatcher:
    """The queue of episodes still to run, who runs which, and how often each was tried."""

    def __init__(self, specs: list[EpisodeSpec]):
        self.pending = deque(specs)
        self.inflight: dict[int, list[EpisodeSpec]] = {}  # worker id -> the episodes it runs now
        self.last_case: dict[int, str] = {}
        self.attempts: dict[tuple[str, int], int] = {}

    @property
    def has_pending(self) -> bool:
        return bool(self.pending)

    def _take(self, wid: int) -> EpisodeSpec:
        # A retry waits at the front: it goes to the next worker that asks, whatever its last case.
        if self.pending and self.attempts.get(_key(self.pending[0]), 0):
            return self.pending.popleft()
        # Else prefer another seed of the worker's last case: its env is cached there (a build costs seconds).
        for i, spec in enumerate(self.pending):
            if spec.case_id == self.last_case.get(wid):
                del self.pending[i]
                return spec
        return self.pending.popleft()

    def next_for(self, wid: int) -> EpisodeSpec | None:
        """The episode worker `wid` runs next (now counted as one attempt), or None when none is left."""
        if not self.pending:
            return None
        spec = self._take(wid)
        self.inflight.setdefault(wid, []).append(spec)
        self.last_case[wid] = spec.case_id
        self.attempts[_key(spec)] = self.attempts.get(_key(spec), 0) + 1
        return spec

    def done(self, wid: int, spec: EpisodeSpec) -> int:
        """Worker `wid` finished `spec`; returns how many attempts the episode took."""
        self.inflight[wid] = [s for s in self.inflight[wid] if s.name != spec.name]
        return self.attempts[_key(spec)]

    def lost(self, wid: int) -> list[tuple[EpisodeSpec, int, bool]]:
        """Worker `wid` died during its episodes: for each, (the episode, its attempts so far, whether it is
        retried). A retried episode is queued first, for the next worker that asks (never the dead one)."""
        lost = self.inflight.pop(wid, [])
        self.last_case.pop(wid, None)
        out = []
        for spec in reversed(lost):  # appendleft in reverse keeps their order at the front of the queue
            attempts = self.attempts[_key(spec)]
            retry = attempts < MAX_ATTEMPTS
            if retry:
                self.pending.appendleft(spec)
            out.append((spec, attempts, retry))
        return out[::-1]


def _key(spec: EpisodeSpec) -> tuple[str, int]:
    return spec.case_id, spec.seed

"""Continuous batching inside one worker (``--batch B``): up to B episodes step side by side, and the chunk
requests that are due at a control step go to the policy in ONE call.

Each control step, every live episode whose chunk is spent (``ChunkedPolicyWrapper.will_call()``) sends its
observation; the worker answers all of them with one ``infer_batch`` (:class:`EpisodeSessions`), then steps
every live episode's env once. Episodes re-query at different steps (different chunk lengths, different
start steps), so a call batches whatever is due, and no episode waits: each is answered at the step it asks.
A finished episode frees its slot and the next episode takes it before the next step (continuous batching).

Every slot has its own env cache (two episodes of one case need two envs at once). Each episode is recorded
with the unbatched loop's own steps (:mod:`evals.runner.episode`: ``open_episode``, ``start_rollout``,
``advance``, ``episode_result``), so its rows have the same columns and, with per-episode policies, the same
values whatever shared its batches; only timing differs: an episode's policy latency is the wall time of the
call that answered it (the batched call of a native batched policy, its own call for per-episode ones). An exception in one episode (env, policy, bad action) ends that episode only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from evals.contract.adapter import ChunkedPolicyWrapper
from evals.dataset.options import DatasetOptions
from evals.runner.env_cache import EnvCache
from evals.runner.episode import (
    EpisodeResult,
    OpenedEpisode,
    VideoRequest,
    advance,
    discard_env,
    episode_result,
    error_fields,
    finish_video,
    new_trace,
    open_episode,
    start_rollout,
)
from evals.runner.policy_sessions import EpisodeSessions, SessionRequest
from evals.runner.spec import EpisodeSpec


class _Answered:
    """The chunk wrapper's policy inside a batch: ``infer`` hands over what the batched call answered."""

    def __init__(self, metadata: Any) -> None:
        self.metadata = metadata
        self.pending: dict[str, Any] | Exception | None = None

    def reset(self, instruction: str) -> None:
        """Nothing to do: the episode's session was started with its instruction."""

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        answer, self.pending = self.pending, None
        if answer is None:
            raise RuntimeError("batched runner: the policy was not asked for this due chunk")
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclasses.dataclass
class _Live:
    """One running episode in a slot."""

    spec: EpisodeSpec
    cache: EnvCache
    trace: Any  # episode._Trace
    opened: OpenedEpisode
    video: VideoRequest
    wrapper: ChunkedPolicyWrapper
    answered: _Answered
    obs: dict[str, Any]
    t_start: float
    t: int = 0  # the next control step
    query: dict[str, Any] = dataclasses.field(default_factory=dict)  # this step's observation + prompt
    call_ms: float | None = None  # wall time of the policy call that answered the latest chunk


class BatchedEpisodes:
    """Runs episodes B at a time in one process; B = ``len(caches)``.

    Args:
        factory: the worker's policy factory (``for_episode``; ``session_policy`` when natively batched).
        caches: one env cache per slot.
        dataset: ``--dataset`` options (each episode's recording is returned on its result), or None.
    """

    def __init__(
        self, factory: Any, caches: Sequence[EnvCache], dataset: DatasetOptions | None = None
    ) -> None:
        if not caches:
            raise ValueError("BatchedEpisodes needs at least one slot")
        self.factory = factory
        self.caches = list(caches)
        self.dataset = dataset
        self.sessions = EpisodeSessions(factory, len(self.caches))

    def run(
        self, specs: Iterable[EpisodeSpec], video: Callable[[EpisodeSpec], VideoRequest]
    ) -> Iterator[EpisodeResult]:
        """Yield a result per spec as episodes finish. `specs` is read lazily, one spec per free slot (a
        worker process reads them from its driver as results go back)."""
        source = iter(specs)
        slots: list[_Live | None] = [None] * len(self.caches)
        more = True
        while True:
            for i in range(len(slots)):
                while more and slots[i] is None:
                    spec = next(source, None)
                    if spec is None:
                        more = False
                        break
                    opened = self._open(spec, self.caches[i], video(spec))
                    if isinstance(opened, EpisodeResult):
                        yield opened  # it failed to start; the slot takes the next spec
                    else:
                        slots[i] = opened
            live = [s for s in slots if s is not None]
            if not live:
                return
            self._answer_due(live)
            for i, episode in enumerate(slots):
                if episode is not None and (result := self._step(episode)) is not None:
                    slots[i] = None
                    yield result

    def _open(self, spec: EpisodeSpec, cache: EnvCache, video: VideoRequest) -> _Live | EpisodeResult:
        """Build the env and policy, reset both, start the episode's session (or the error result)."""
        t_start = time.perf_counter()
        trace = new_trace(self.dataset)
        opened = None
        try:
            opened = open_episode(spec, self.factory, cache, trace, self.dataset, video)
            answered = _Answered(opened.policy.metadata)
            obs, wrapper = start_rollout(spec, opened, answered, trace)
            self.sessions.start(spec.name, spec.instruction, spec.env_seed, opened.policy)
        except Exception as exc:  # recorded on the episode; the others go on
            finish_video(opened, trace, failed=True)
            discard_env(cache, spec, opened, video)
            return episode_result(
                spec, trace, error_fields(exc), wall=time.perf_counter() - t_start, opened=opened
            )
        return _Live(spec, cache, trace, opened, video, wrapper, answered, obs, t_start)

    def _answer_due(self, live: list[_Live]) -> None:
        """One policy call for every live episode whose chunk is due this step."""
        for episode in live:
            episode.query = {**episode.obs, "prompt": episode.spec.instruction}
        due = [e for e in live if e.wrapper.will_call()]
        if not due:
            return
        answers = self.sessions.answer([SessionRequest(e.spec.name, e.query) for e in due])
        for episode, (answer, ms) in zip(due, answers, strict=True):
            episode.answered.pending = answer
            episode.call_ms = ms

    def _step(self, episode: _Live) -> EpisodeResult | None:
        """One control step of `episode`; its result when it ended."""
        try:
            action, info = episode.wrapper.act(episode.query)
            if info.policy_called:
                info = dataclasses.replace(info, latency_ms=episode.call_ms)
            episode.obs, ended = advance(
                episode.spec,
                episode.opened,
                episode.wrapper,
                episode.trace,
                (episode.t, episode.obs, action, info),
            )
            episode.t += 1
            if ended is None and episode.t < episode.spec.horizon:
                return None
            return self._finish(episode, (ended or "horizon", "", ""))
        except Exception as exc:  # recorded on the episode; the others go on
            ending = error_fields(exc)
            finish_video(episode.opened, episode.trace, failed=True)
            discard_env(episode.cache, episode.spec, episode.opened, episode.video)
            return self._finish(episode, ending)

    def _finish(self, episode: _Live, ending: tuple[str, str, str]) -> EpisodeResult:
        if ending[0] != "error":  # an errored episode's video was rendered before its env was discarded
            finish_video(episode.opened, episode.trace, failed=not episode.trace.success)
        self.sessions.end(episode.spec.name)
        wall = time.perf_counter() - episode.t_start
        return episode_result(episode.spec, episode.trace, ending, wall=wall, opened=episode.opened)

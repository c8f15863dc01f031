"""`EnvCache`: the env(s) one worker owns, reused across episodes with identical construction arguments.

Building a MuJoCo/robosuite env costs far more than resetting it, and the envs contract makes the initial
state a pure function of (task, embodiment, options, seed), so reuse cannot change results. The cache keeps
the few most recently used envs (LRU) to bound memory, and drops an env after an episode error.
"""

from __future__ import annotations

import contextlib
import json
from collections import OrderedDict
from typing import Any

from evals.runner.backend import EnvBackend
from evals.runner.spec import EpisodeSpec


class EnvCache:
    def __init__(self, backend: EnvBackend, max_envs: int = 2):
        self.backend = backend
        self.max_envs = max_envs
        self._envs: OrderedDict[str, Any] = OrderedDict()
        # Cameras the policy asks for (metadata.cameras); learned on the first episode, None until then.
        self.policy_cameras: tuple[str, ...] | None = None

    @staticmethod
    def _key(spec: EpisodeSpec, cameras: tuple[str, ...]) -> str:
        return json.dumps([spec.task, spec.make_kwargs(cameras)], sort_keys=True, default=list)

    def get(self, spec: EpisodeSpec, cameras: tuple[str, ...]) -> Any:
        key = self._key(spec, cameras)
        if key in self._envs:
            self._envs.move_to_end(key)
            return self._envs[key]
        env = self.backend.make(spec.task, **spec.make_kwargs(cameras))
        self._envs[key] = env
        while len(self._envs) > self.max_envs:
            _, old = self._envs.popitem(last=False)
            _close_quietly(old)
        return env

    def discard(self, spec: EpisodeSpec, cameras: tuple[str, ...]) -> None:
        """Forget (and close) an env whose state may be broken after an exception."""
        env = self._envs.pop(self._key(spec, cameras), None)
        if env is not None:
            _close_quietly(env)

    def close(self) -> None:
        while self._envs:
            _, env = self._envs.popitem()
            _close_quietly(env)


def _close_quietly(env: Any) -> None:
    # Closing a broken env must not mask the error being recorded.
    with contextlib.suppress(Exception):
        env.close()

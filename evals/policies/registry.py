"""The ``--policy`` registry: spec name -> how to build that policy for each episode.

Each kind has a builder with ``for_episode(env, seed, episode_key) -> Policy``, ``metadata() -> dict | None``
(what is known without an env) and ``close()``. Cheap policies are built per episode; the model and the
remote connection once per builder (i.e. once per worker process).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.policies.base import Policy
from evals.policies.baselines import ActionSpec, RandomPolicy, ZeroPolicy


class PolicySpecError(ValueError):
    """A ``--policy`` spec, its ``--checkpoint`` or its options cannot be used (the message says what to fix)."""


class _Stateless:
    """Base for builders that hold nothing between episodes."""

    def metadata(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        pass


class ExpertBuilder(_Stateless):
    def __init__(self, make_agent: Callable[[Any], Any] | None = None, action_noise: float = 0.0) -> None:
        if not action_noise >= 0:  # also rejects NaN
            raise PolicySpecError(f"option action_noise must be >= 0 (std in rad), got {action_noise}")
        self.make_agent = make_agent
        self.action_noise = float(action_noise)

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        from evals.policies import expert

        return expert.expert_policy(
            env, self.make_agent or expert.default_make_expert, action_noise=self.action_noise, seed=seed
        )

    def metadata(self) -> dict[str, Any]:
        return {"name": "expert", "chunk_length": 1, "cameras": ()}


class RandomBuilder(_Stateless):
    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        return RandomPolicy(ActionSpec.from_env(env), seed)

    def metadata(self) -> dict[str, Any]:
        return {"name": "random", "chunk_length": 1, "cameras": ()}


class ZeroBuilder(_Stateless):
    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        return ZeroPolicy(ActionSpec.from_env(env))

    def metadata(self) -> dict[str, Any]:
        return {"name": "zero", "chunk_length": 1, "cameras": ()}


class ReplayBuilder(_Stateless):
    def __init__(self, path: str) -> None:
        from evals.policies.replay import Recording

        try:
            self.recording = Recording(path)
        except (OSError, ValueError) as err:
            raise PolicySpecError(f"--policy replay:{path}: {err}") from err
        self.path = path

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        from evals.policies.replay import ReplayPolicy

        key = {"case_id": episode_key["case_id"], "seed": episode_key.get("seed", seed)}
        action_space = env.unwrapped.spec_info.get("action_space") if env is not None else None
        return ReplayPolicy(
            self.recording.actions(key), source=self.path, episode_key=key, action_space=action_space
        )

    def metadata(self) -> dict[str, Any]:
        return {"name": "replay", "chunk_length": 1, "cameras": (), "episodes": len(self.recording)}


class DreamZeroBuilder:
    def __init__(self, checkpoint: str | None, config: str = "tiny", seed: int = 0) -> None:
        from evals.policies import dreamzero

        if checkpoint is not None and not Path(checkpoint).exists():
            raise PolicySpecError(f"--checkpoint {checkpoint} does not exist")
        try:
            dreamzero.load_inference_module()  # fail before any episode runs, not in every episode
        except dreamzero.DreamZeroUnavailableError as err:
            raise PolicySpecError(str(err)) from err
        self.checkpoint, self.config, self.seed = checkpoint, config, int(seed)
        self._model: Any = None

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        from evals.policies import dreamzero

        if self._model is None:
            self._model = dreamzero.build_model(
                config_name=self.config, checkpoint=self.checkpoint, seed=self.seed
            )
        return dreamzero.EpisodeView(self._model, seed)

    def metadata(self) -> dict[str, Any] | None:
        return None if self._model is None else dict(self._model.metadata)

    def close(self) -> None:
        self._model = None


class RemoteBuilder:
    def __init__(self, address: str, **options: Any) -> None:
        from evals.policies.remote import RemotePolicy, RemotePolicyError

        host, sep, port_text = address.rpartition(":")
        if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise PolicySpecError(
                f"--policy remote:{address}: expected remote:<host>:<port>, e.g. remote:127.0.0.1:8000"
            )
        try:
            self.policy = RemotePolicy(host, int(port_text), **options)
        except ValueError as err:
            raise PolicySpecError(f"--policy remote:{address}: {err}") from err
        except RemotePolicyError as err:
            raise PolicySpecError(str(err)) from err

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        return self.policy

    def metadata(self) -> dict[str, Any]:
        return dict(self.policy.metadata)

    def close(self) -> None:
        self.policy.close()


@dataclasses.dataclass(frozen=True)
class PolicyKind:
    """One registry entry: the spec form users write, and how to build its builder."""

    form: str  # as shown in help and errors, e.g. "replay:<steps.parquet>"
    build: Callable[..., Any]  # (arg, checkpoint, **options) -> builder
    takes_arg: bool = False
    takes_checkpoint: bool = False
    options: dict[str, type] = dataclasses.field(default_factory=dict)  # option name -> type


REGISTRY: dict[str, PolicyKind] = {
    "expert": PolicyKind(
        "expert",
        lambda arg, ckpt, **opt: ExpertBuilder(**opt),
        options={"action_noise": float},  # std (rad) of noise on executed joint targets; labels stay clean
    ),
    "random": PolicyKind("random", lambda arg, ckpt: RandomBuilder()),
    "zero": PolicyKind("zero", lambda arg, ckpt: ZeroBuilder()),
    "replay": PolicyKind("replay:<steps.parquet>", lambda arg, ckpt: ReplayBuilder(arg), takes_arg=True),
    "dreamzero": PolicyKind(
        "dreamzero",
        lambda arg, ckpt, **opt: DreamZeroBuilder(ckpt, **opt),
        takes_checkpoint=True,
        options={"config": str, "seed": int},
    ),
    "remote": PolicyKind(
        "remote:<host>:<port>",
        lambda arg, ckpt, **opt: RemoteBuilder(arg, **opt),
        takes_arg=True,
        options={"connect_timeout": float, "reply_timeout": float, "protocol": str},
    ),
}


def valid_forms() -> str:
    return ", ".join(kind.form for kind in REGISTRY.values())


def build(spec: str, checkpoint: str | None, options: dict[str, Any]) -> tuple[str, Any]:
    """Parse ``spec`` and build its builder; ``PolicySpecError`` with a one-line fix on any mistake."""
    name, sep, arg = spec.partition(":")
    kind = REGISTRY.get(name)
    if kind is None:
        raise PolicySpecError(f"unknown policy {spec!r}; valid forms: {valid_forms()}")
    if kind.takes_arg and not arg:
        raise PolicySpecError(f"policy {name!r} needs an argument: {kind.form}")
    if not kind.takes_arg and sep:
        raise PolicySpecError(f"policy {name!r} takes no argument; write {kind.form}")
    if checkpoint is not None and not kind.takes_checkpoint:
        raise PolicySpecError(f"--checkpoint is only used by --policy dreamzero, not {name!r}")
    unknown = sorted(set(options) - set(kind.options))
    if unknown:
        allowed = ", ".join(kind.options) or "none"
        raise PolicySpecError(f"unknown option(s) {unknown} for policy {name!r}; allowed: {allowed}")
    typed: dict[str, Any] = {}
    for key, value in options.items():
        try:
            typed[key] = kind.options[key](value)
        except (TypeError, ValueError) as err:
            raise PolicySpecError(f"option {key}={value!r} for policy {name!r}: {err}") from err
    args = (arg or None, checkpoint)
    return name, kind.build(*args, **typed)

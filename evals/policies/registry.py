"""The ``--policy`` registry: spec name -> how to build that policy for each episode, or to serve it.

Each kind has a builder with ``for_episode(env, seed, episode_key) -> Policy``,
``metadata() -> PolicyMetadata | None`` (what is known without an env) and ``close()``. Servable kinds (those
that need no env, only an :class:`ActionSpec`) also have ``for_action_spec(spec, chunk_length) -> Policy``, one
independent policy per call, which ``python -m evals.serve`` builds per session. A builder with a native
batched implementation also has ``session_policy(max_sessions) -> SessionPolicy``; :func:`session_policy_for`
picks it, else one policy per session (:class:`~evals.policies.sessions.PerSessionPolicies`). Cheap policies
are built per episode; the model and the remote connection once per builder (i.e. once per worker process).
Options (``--policy-opt KEY=VALUE``) are typed per kind.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.contract.policy import Policy, PolicyMetadata, metadata_from_dict
from evals.contract.sessions import SessionPolicy
from evals.policies.baselines import ActionSpec, RandomPolicy, ZeroPolicy
from evals.policies.options import coerce
from evals.policies.sessions import PerSessionPolicies, native_session_policy


class PolicySpecError(ValueError):
    """A ``--policy`` spec, its ``--checkpoint`` or its options cannot be used (the message says what to fix)."""


class _Stateless:
    """Base for builders that hold nothing between episodes."""

    def metadata(self) -> PolicyMetadata | None:
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

    def metadata(self) -> PolicyMetadata:
        return PolicyMetadata(name="expert", chunk_length=1)


class RandomBuilder(_Stateless):
    """``seed`` option: one fixed seed for every episode (default: each episode's own seed; 0 when served)."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        return RandomPolicy(ActionSpec.from_env(env), seed if self.seed is None else self.seed)

    def for_action_spec(self, spec: ActionSpec, chunk_length: int = 1) -> Policy:
        return RandomPolicy(spec, 0 if self.seed is None else self.seed, chunk_length)

    def metadata(self) -> PolicyMetadata:
        return PolicyMetadata(name="random", chunk_length=1)


class ZeroBuilder(_Stateless):
    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        return ZeroPolicy(ActionSpec.from_env(env))

    def for_action_spec(self, spec: ActionSpec, chunk_length: int = 1) -> Policy:
        return ZeroPolicy(spec, chunk_length)

    def metadata(self) -> PolicyMetadata:
        return PolicyMetadata(name="zero", chunk_length=1)


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

    def metadata(self) -> PolicyMetadata:
        return PolicyMetadata(name="replay", chunk_length=1, config={"episodes": len(self.recording)})


class DreamZeroBuilder:
    """The model is built on first use (once per worker). Weights: ``checkpoint``, else the shipped ones,
    else (only with ``random_weights``) random. ``dtype`` (float32 | bfloat16) and ``mesh``
    (``data:D,model:M`` over this host's devices) are checked here, before any episode runs.
    ``noise_scale`` overrides the sampling temperature the checkpoint records (0: deterministic)."""

    def __init__(
        self,
        checkpoint: str | None,
        config: str | None = None,
        seed: int = 0,
        random_weights: bool = False,
        dtype: str = "float32",
        mesh: str | None = None,
        noise_scale: float | None = None,
    ) -> None:
        from evals.policies import dreamzero

        if noise_scale is not None and noise_scale < 0:
            raise PolicySpecError(f"policy 'dreamzero': noise_scale must be >= 0, got {noise_scale}")
        try:
            dreamzero.check_placement(dtype, mesh)
        except ValueError as err:
            raise PolicySpecError(f"policy 'dreamzero': {err}") from err
        if checkpoint is not None and not Path(checkpoint).exists():
            raise PolicySpecError(f"--checkpoint {checkpoint} does not exist")
        if checkpoint is not None and random_weights:
            raise PolicySpecError("--checkpoint and --policy-opt random_weights=true exclude each other")
        if checkpoint is None and not random_weights:
            try:
                checkpoint = dreamzero.default_checkpoint()  # fail before any episode runs
            except dreamzero.DreamZeroUnavailableError as err:
                raise PolicySpecError(str(err)) from err
        self.checkpoint, self.config, self.seed = checkpoint, config, int(seed)
        self.dtype, self.mesh, self.noise_scale = dtype, mesh, noise_scale
        self._model: Any = None

    def _built(self) -> Any:
        from evals.policies import dreamzero

        if self._model is None:
            self._model = dreamzero.build_model(
                config_name=self.config,
                checkpoint=self.checkpoint,
                seed=self.seed,
                dtype=self.dtype,
                mesh=self.mesh,
                noise_scale=self.noise_scale,
            )
        return self._model

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        from evals.policies import dreamzero

        return dreamzero.EpisodeView(self._built(), seed)

    def for_action_spec(self, spec: ActionSpec, chunk_length: int = 1) -> Policy:
        """The model as one served policy (``chunk_length`` is the model's own); it resets with the model seed.
        Concurrent sessions are served by :meth:`session_policy`."""
        from evals.policies import dreamzero

        view = dreamzero.EpisodeView(self._built(), self.seed)
        if view.metadata.action_space not in (None, spec.action_space):
            raise PolicySpecError(
                f"policy 'dreamzero' acts in {view.metadata.action_space}, not --action-space {spec.action_space}"
            )
        return view

    def session_policy(self, max_sessions: int) -> Any:
        """The model's native batched multi-session policy (a ``SessionPolicy``): up to ``max_sessions``
        episodes per jitted call. Builders without this method are wrapped in ``PerSessionPolicies``."""
        from evals.policies import dreamzero

        return dreamzero.SessionView(self._built(), max_sessions)

    def metadata(self) -> PolicyMetadata | None:
        return None if self._model is None else metadata_from_dict(self._model.metadata)

    def close(self) -> None:
        self._model = None


class DaggerBuilder:
    """``dagger``: the DreamZero learner (``checkpoint``, else the shipped weights) acts, re-planning every
    ``horizon`` steps; the task's scripted expert labels every step (``evals.policies.dagger``)."""

    def __init__(
        self,
        checkpoint: str | None,
        horizon: int = 8,
        make_agent: Callable[[Any], Any] | None = None,
        **model_options: Any,
    ) -> None:
        if horizon < 1:
            raise PolicySpecError(f"option horizon must be >= 1 (steps per learner chunk), got {horizon}")
        self.learner = DreamZeroBuilder(checkpoint, **model_options)
        self.horizon = int(horizon)
        self.make_agent = make_agent

    def for_episode(self, env: Any, seed: int, episode_key: dict[str, Any]) -> Policy:
        from evals.policies import dagger, expert

        return dagger.DaggerPolicy(
            self.learner.for_episode(env, seed, episode_key),
            expert.expert_policy(env, self.make_agent or expert.default_make_expert, seed=seed),
            open_loop_horizon=self.horizon,
            action_low=env.action_space.low,
            action_high=env.action_space.high,
        )

    def metadata(self) -> PolicyMetadata:
        return PolicyMetadata(name="dagger", chunk_length=1)

    def close(self) -> None:
        self.learner.close()


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

    def metadata(self) -> PolicyMetadata:
        return self.policy.metadata

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
    servable: bool = False  # buildable without an env (``for_action_spec``), so ``evals.serve`` can serve it


REGISTRY: dict[str, PolicyKind] = {
    "expert": PolicyKind(
        "expert",
        lambda arg, ckpt, **opt: ExpertBuilder(**opt),
        options={"action_noise": float},  # std (rad) of noise on executed joint targets; labels stay clean
    ),
    "random": PolicyKind(
        "random", lambda arg, ckpt, **opt: RandomBuilder(**opt), options={"seed": int}, servable=True
    ),
    "zero": PolicyKind("zero", lambda arg, ckpt: ZeroBuilder(), servable=True),
    "replay": PolicyKind("replay:<steps.parquet>", lambda arg, ckpt: ReplayBuilder(arg), takes_arg=True),
    "dreamzero": PolicyKind(
        "dreamzero",
        lambda arg, ckpt, **opt: DreamZeroBuilder(ckpt, **opt),
        takes_checkpoint=True,
        # dtype: float32 | bfloat16; mesh: e.g. data:1,model:8 (DiT sharded over this host's devices)
        options={
            "config": str,
            "seed": int,
            "random_weights": bool,
            "dtype": str,
            "mesh": str,
            "noise_scale": float,
        },
        servable=True,
    ),
    "dagger": PolicyKind(
        "dagger",
        lambda arg, ckpt, **opt: DaggerBuilder(ckpt, **opt),
        takes_checkpoint=True,
        # the learner's open-loop horizon, and the dreamzero options for the learner
        options={"horizon": int, "config": str, "seed": int, "dtype": str},
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


def servable_names() -> tuple[str, ...]:
    """Kinds ``python -m evals.serve`` can serve."""
    return tuple(name for name, kind in REGISTRY.items() if kind.servable)


@dataclasses.dataclass(frozen=True)
class PolicyChoice:
    """A validated ``--policy`` spec with its checkpoint and typed options; :meth:`builder` builds it."""

    spec: str
    name: str
    arg: str | None
    checkpoint: str | None
    options: dict[str, Any]  # converted to the kind's option types

    @property
    def kind(self) -> PolicyKind:
        return REGISTRY[self.name]

    def builder(self) -> Any:
        """Build the builder (may connect, load a file or import the model); ``PolicySpecError`` on failure."""
        return self.kind.build(self.arg, self.checkpoint, **self.options)


def parse(spec: str, checkpoint: str | None = None, options: dict[str, Any] | None = None) -> PolicyChoice:
    """Validate ``spec``, ``checkpoint`` and ``options`` against the registry (nothing is built)."""
    name, sep, arg = spec.partition(":")
    kind = REGISTRY.get(name)
    if kind is None:
        raise PolicySpecError(f"unknown policy {spec!r}; valid forms: {valid_forms()}")
    if kind.takes_arg and not arg:
        raise PolicySpecError(f"policy {name!r} needs an argument: {kind.form}")
    if not kind.takes_arg and sep:
        raise PolicySpecError(f"policy {name!r} takes no argument; write {kind.form}")
    if checkpoint is not None and not kind.takes_checkpoint:
        takers = ", ".join(n for n, k in REGISTRY.items() if k.takes_checkpoint)
        raise PolicySpecError(f"--checkpoint is only used by --policy {takers}, not {name!r}")
    options = dict(options or {})
    unknown = sorted(set(options) - set(kind.options))
    if unknown:
        allowed = ", ".join(kind.options) or "none"
        raise PolicySpecError(f"unknown option(s) {unknown} for policy {name!r}; allowed: {allowed}")
    typed: dict[str, Any] = {}
    for key, value in options.items():
        try:
            typed[key] = coerce(kind.options[key], value)
        except (TypeError, ValueError) as err:
            raise PolicySpecError(f"option {key}={value!r} for policy {name!r}: {err}") from err
    return PolicyChoice(spec, name, arg or None, checkpoint, typed)


def _servable_builder(choice: PolicyChoice) -> Any:
    if not choice.kind.servable:
        raise PolicySpecError(
            f"policy {choice.name!r} needs a simulator env, so it cannot be served; "
            f"servable: {', '.join(servable_names())}"
        )
    return choice.builder()


def build_served(choice: PolicyChoice, action_spec: ActionSpec, chunk_length: int = 1) -> Policy:
    """One served policy; ``PolicySpecError`` for kinds that need an env (expert, replay)."""
    return _servable_builder(choice).for_action_spec(action_spec, chunk_length)


def session_policy_for(
    builder: Any, make: Callable[[int], Policy], metadata: PolicyMetadata, max_sessions: int
) -> SessionPolicy:
    """The one place that chooses how sessions are served: the builder's native batched ``session_policy``
    when it has one, else one independent ``make(seed)`` policy per session."""
    native = native_session_policy(builder, max_sessions)
    return native if native is not None else PerSessionPolicies(make, metadata, max_sessions)


def served_seed(choice: PolicyChoice) -> int:
    """The seed every served session starts with: the policy's ``seed`` option, default 0."""
    return int(choice.options.get("seed", 0))


def build_served_sessions(
    choice: PolicyChoice, action_spec: ActionSpec, max_sessions: int, chunk_length: int = 1
) -> SessionPolicy:
    """What ``evals.serve`` serves: up to ``max_sessions`` concurrent sessions of the chosen policy.

    ``chunk_length`` is the chunk length of policies whose chunk is free (the baselines); models keep theirs.
    ``PolicySpecError`` for kinds that need an env (expert, replay) or whose policy cannot be built.
    """
    builder = _servable_builder(choice)
    first = builder.for_action_spec(action_spec, chunk_length)  # validates the action space, builds the model
    return session_policy_for(
        builder, lambda seed: builder.for_action_spec(action_spec, chunk_length), first.metadata, max_sessions
    )

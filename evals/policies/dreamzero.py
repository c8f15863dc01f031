"""``dreamzero``: the JAX DreamZero model (``dreamzero_jax.inference.DreamZeroPolicy``) as a policy.

JAX is imported only here and only when the model is built (a function-local import), so ``evals`` stays
light for the other policies. The model is built once per worker and reused across episodes; each episode
resets it with its instruction and its seed, so results do not depend on episode order.

Weights: ``--checkpoint DIR`` if given; else the small DreamZero trained in this repository and shipped with
the package; random weights (the ``tiny`` config unless ``config=`` says otherwise) only with
``--policy-opt random_weights=true``.
"""

from __future__ import annotations

import sys
from typing import Any

from evals.contract.policy import metadata_from_dict


class DreamZeroUnavailableError(ImportError):
    """``dreamzero_jax.inference`` cannot be imported (a broken install), or no weights are available."""


def default_checkpoint() -> str:
    """The shipped checkpoint's path; DreamZeroUnavailableError when this install ships none."""
    try:
        from dreamzero_jax.checkpoint.shipped import shipped_checkpoint
    except ImportError as err:
        raise DreamZeroUnavailableError(
            f"policy 'dreamzero' needs dreamzero_jax, which cannot be imported ({err})"
        ) from err
    path = shipped_checkpoint()
    if path is None:
        raise DreamZeroUnavailableError(
            "policy 'dreamzero': this install ships no trained weights; pass --checkpoint DIR "
            "or --policy-opt random_weights=true"
        )
    return str(path)


DTYPES = ("float32", "bfloat16")


def check_placement(dtype: str, mesh: str | None) -> None:
    """ValueError (one line) unless ``dtype`` is known and ``mesh`` fits this host's devices."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    if mesh is None:
        return
    import jax

    from dreamzero_jax.sharding import parse_mesh

    sizes = parse_mesh(mesh)
    if sizes["data"] * sizes["model"] != jax.device_count():
        raise ValueError(
            f"mesh {mesh!r} needs {sizes['data'] * sizes['model']} devices; this host has {jax.device_count()}"
        )


def build_model(
    *,
    config_name: str | None,
    checkpoint: str | None,
    seed: int,
    dtype: str = "float32",
    mesh: str | None = None,
    noise_scale: float | None = None,
) -> Any:
    """The DreamZero policy object; ``checkpoint`` None means random weights (warned on stderr).
    ``noise_scale`` None keeps the sampling temperature the config records."""
    from dreamzero_jax.inference import DreamZeroPolicy

    if checkpoint is None:
        print(
            f"WARNING: policy 'dreamzero' runs the {config_name or 'tiny'!r} config with RANDOM weights "
            "(random_weights=true: results measure plumbing, not the model)",
            file=sys.stderr,
        )
    sampling = {} if noise_scale is None else {"noise_scale": float(noise_scale)}
    return DreamZeroPolicy.from_config(
        config_name=config_name, checkpoint=checkpoint, seed=seed, dtype=dtype, mesh=mesh, **sampling
    )


class EpisodeView:
    """One episode's view of the shared model (``evals.run`` without ``--batch``): ``reset`` passes the
    episode seed. It uses the model's single-episode API, so one view of a model runs at a time; concurrent
    episodes (``--batch``, ``evals.serve``) go through :class:`SessionView`, where each has its own slot.

    This is where the model enters ``evals``: its plain metadata dict becomes a typed ``PolicyMetadata``.
    """

    def __init__(self, model: Any, seed: int) -> None:
        self.model = model
        self.seed = int(seed)
        self.metadata = metadata_from_dict(model.metadata)

    def reset(self, instruction: str) -> None:
        self.model.reset(instruction, seed=self.seed)

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        return self.model.infer(obs)


class SessionView:
    """The model's native batched sessions as a :class:`~evals.contract.sessions.SessionPolicy`: one jitted
    call answers every due session (each in its own KV-cache slot); ``metadata`` is typed here."""

    def __init__(self, model: Any, max_sessions: int) -> None:
        if max_sessions < 1:
            raise ValueError(f"max_sessions must be >= 1, got {max_sessions}")
        # one extra slot keeps the one-episode view (EpisodeView) of the same model usable alongside
        model.reserve_sessions(max_sessions + 1)
        self.model = model
        self.max_sessions = int(max_sessions)
        self.metadata = metadata_from_dict(model.metadata)
        self._open: set[str] = set()

    def start_session(self, session: str, instruction: str, seed: int) -> None:
        from evals.policies.sessions import SessionLimitError

        if session not in self._open and len(self._open) >= self.max_sessions:
            raise SessionLimitError(f"all {self.max_sessions} session slots are in use")
        self.model.start_session(session, instruction, int(seed))
        self._open.add(session)

    def infer_batch(self, requests: Any) -> list[dict[str, Any]]:
        return self.model.infer_batch(requests)

    def end_session(self, session: str) -> None:
        self._open.discard(session)
        self.model.end_session(session)

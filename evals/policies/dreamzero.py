"""``dreamzero``: the JAX DreamZero model (``dreamzero_jax.inference.DreamZeroPolicy``) as a policy.

JAX is imported only here and only when the model is built (a function-local import), so ``evals`` stays
light for the other policies. The model is built once per worker and reused across episodes; each episode
resets it with its instruction and its seed, so results do not depend on episode order.

Weights: ``--checkpoint DIR`` if given; else the small DreamZero trained in this repository and shipped with
the package; random weights (the ``tiny`` config unless ``config=`` says otherwise) only with
``--policy-opt random_weights=true``.
"""

from __future__ import annotations

import copy
import sys
import weakref
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
) -> Any:
    """The DreamZero policy object; ``checkpoint`` None means random weights (warned on stderr)."""
    from dreamzero_jax.inference import DreamZeroPolicy

    if checkpoint is None:
        print(
            f"WARNING: policy 'dreamzero' runs the {config_name or 'tiny'!r} config with RANDOM weights "
            "(random_weights=true: results measure plumbing, not the model)",
            file=sys.stderr,
        )
    return DreamZeroPolicy.from_config(
        config_name=config_name, checkpoint=checkpoint, seed=seed, dtype=dtype, mesh=mesh
    )


# What ``DreamZeroPolicy`` keeps per episode: ``reset`` sets all of it, ``infer`` reassigns all of it but the
# frame buffer, which it fills in place (so each episode needs its own buffer object).
_EPISODE_STATE = (
    "instruction",
    "episode_seed",
    "_noise",
    "frames",
    "prompt",
    "start_frame",
    "session",
    "cond",
)
_EPISODE_STATE += ("chunks",)
# model -> weak reference to the view whose episode state the model holds now
_HOLDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class EpisodeView:
    """One episode's view of the shared model: ``reset`` passes the episode seed.

    Views of one model are independent episodes even when their calls interleave (``evals.run --batch``
    without a natively batched model): before a view resets or infers, the model's episode state is swapped
    to that view's (array references, no copies), so each episode computes exactly what it would alone.

    This is where the model enters ``evals``: its plain metadata dict becomes a typed ``PolicyMetadata``.
    """

    def __init__(self, model: Any, seed: int) -> None:
        self.model = model
        self.seed = int(seed)
        self.metadata = metadata_from_dict(model.metadata)
        self._saved: dict[str, Any] | None = None  # this episode's state while another view holds the model

    def _hold(self) -> None:
        """Make the model hold this view's episode state, saving the previous holder's."""
        ref = _HOLDERS.get(self.model)
        holder = ref() if ref is not None else None
        if holder is self:
            return
        model = self.model
        if holder is not None:
            holder._saved = {k: getattr(model, k) for k in _EPISODE_STATE if hasattr(model, k)}
            if hasattr(model, "frames"):
                model.frames = copy.deepcopy(model.frames)  # the holder keeps its own buffer
        for key, value in (self._saved or {}).items():
            setattr(model, key, value)
        self._saved = None
        _HOLDERS[model] = weakref.ref(self)

    def reset(self, instruction: str) -> None:
        self._hold()
        self.model.reset(instruction, seed=self.seed)

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        self._hold()
        return self.model.infer(obs)


def fork_session(model: Any) -> Any:
    """A copy of ``model`` with its own episode state, sharing the weights, encoders and compiled functions.

    A ``DreamZeroPolicy``'s episode state is what ``reset`` reassigns plus its frame buffer (the only attribute
    ``infer`` mutates in place); everything else is read-only after construction. So a shallow copy with its own
    frame buffer is an independent session at the cost of its KV cache, not of a second model or compile. It
    serves concurrent sessions one request at a time until a native batched session policy replaces it.
    """
    clone = copy.copy(model)
    clone.frames = copy.deepcopy(model.frames)
    return clone

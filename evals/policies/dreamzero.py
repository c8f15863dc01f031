"""``dreamzero``: the JAX DreamZero model (``dreamzero_jax.inference.DreamZeroPolicy``) as a policy.

JAX is imported only here and only when the model is built, so ``evals`` stays light for the other
policies. The model is built once per worker and reused across episodes; each episode resets it with its
instruction (and its seed, when the model's ``reset`` accepts one, so results do not depend on episode order).
Without ``--checkpoint`` the tiny config runs with random weights, which is only useful for plumbing.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import Any

from evals.contract.policy import metadata_from_dict

INFERENCE_MODULE = "dreamzero_jax.inference"


class DreamZeroUnavailableError(ImportError):
    """``dreamzero_jax.inference`` cannot be imported (not written yet, or a broken install)."""


def load_inference_module() -> Any:
    """Import the inference module, or raise :class:`DreamZeroUnavailableError` saying why."""
    try:
        return importlib.import_module(INFERENCE_MODULE)
    except ImportError as err:
        raise DreamZeroUnavailableError(
            f"policy 'dreamzero' needs {INFERENCE_MODULE}.DreamZeroPolicy, which cannot be imported ({err})"
        ) from err


def build_model(*, config_name: str, checkpoint: str | None, seed: int) -> Any:
    """The DreamZero policy object; warns on stderr when its weights are random."""
    module = load_inference_module()
    if checkpoint is None:
        print(
            f"WARNING: policy 'dreamzero' has no --checkpoint: using the {config_name!r} config with RANDOM "
            "weights (results measure plumbing, not the model)",
            file=sys.stderr,
        )
    return module.DreamZeroPolicy.from_config(config_name=config_name, checkpoint=checkpoint, seed=seed)


class EpisodeView:
    """One episode's view of the shared model: ``reset`` passes the episode seed when supported.

    This is where the model enters ``evals``: its plain metadata dict becomes a typed ``PolicyMetadata``.
    """

    def __init__(self, model: Any, seed: int) -> None:
        self.model = model
        self.seed = int(seed)
        self.metadata = metadata_from_dict(model.metadata)
        self._takes_seed = "seed" in inspect.signature(model.reset).parameters

    def reset(self, instruction: str) -> None:
        if self._takes_seed:
            self.model.reset(instruction, seed=self.seed)
        else:
            self.model.reset(instruction)

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        return self.model.infer(obs)

"""Building DreamZero components and reading/writing checkpoints, for inference, training and conversion.

* :mod:`.models` -- component name -> model class; concrete builds (random init) and abstract builds.
* :mod:`.orbax_io` -- one orbax directory per component state.
* :mod:`.policy_dir` -- the inference checkpoint layout shared by the converter, training and the policy:
  ``model_config.json`` + one orbax directory per component + ``normalization.json`` (+ the fixed
  image-feature stand-in when the config has no 1280-wide image encoder).
"""

from dreamzero_jax.checkpoint.models import abstract_model, build_model, load_model
from dreamzero_jax.checkpoint.orbax_io import restore_state, save_state
from dreamzero_jax.checkpoint.policy_dir import (
    CheckpointError,
    export_policy,
    read_image_features,
    read_model_config,
    resolve_config,
    write_policy_files,
)

__all__ = [
    "CheckpointError",
    "abstract_model",
    "build_model",
    "export_policy",
    "load_model",
    "read_image_features",
    "read_model_config",
    "resolve_config",
    "restore_state",
    "save_state",
    "write_policy_files",
]

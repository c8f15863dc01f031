"""Checkpoint conversion: original PyTorch (safetensors) names -> NNX state, saved with orbax.

Framework: :mod:`.rules` (Rule, TRANSFORMS), :mod:`.components` (RULES_MODULES), :mod:`.apply` (plan, load_into,
load_streaming, expected_checkpoint_shapes), :mod:`.safetensors_io` (CheckpointReader),
:mod:`dreamzero_jax.checkpoint.orbax_io` (save_state, restore_state). Per-component rules live in ``rules_<component>.py``.
CLI: ``python -m dreamzero_jax.convert --help``.
"""

"""Training DreamZero's DiT in JAX: flow-matching loss as upstream, optax AdamW, orbax checkpoints,
data-parallel steps. ``python -m dreamzero_jax.train --help``.

Roles: :mod:`.batch` (the sample contract), :mod:`.config` (TrainConfig), :mod:`.flow` (noise and
timestep sampling, noisy inputs), :mod:`.loss`, :mod:`.optim`, :mod:`.state`, :mod:`.step` (jitted
pure steps), :mod:`.data` (deterministic order), :mod:`.checkpointing`, :mod:`.metrics`, :mod:`.loop`.
"""

"""Data parallelism: a 1-D ('data',) use of the project's mesh; batches split, everything else replicated."""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from dreamzero_jax.sharding import batch_sharding, make_mesh


def data_mesh(devices: int, batch: int) -> Mesh:
    """A mesh of ``devices`` (0 = all) devices on the 'data' axis (the 'model' axis has size 1)."""
    n = devices or jax.device_count()
    if n > jax.device_count():
        raise ValueError(f"{n} data-parallel devices requested, {jax.device_count()} available")
    if batch % n:
        raise ValueError(f"batch {batch} does not split over {n} devices; use a multiple of {n}")
    return make_mesh(data=n, model=1, devices=jax.devices()[:n])


def replicate(tree, mesh: Mesh):
    """Every array of ``tree`` copied to all devices of ``mesh``."""
    return jax.device_put(tree, NamedSharding(mesh, P()))


def shard_batch(batch, mesh: Mesh):
    """Every array of ``batch`` split along its leading (batch) axis over 'data'."""
    return jax.tree.map(lambda a: jax.device_put(a, batch_sharding(mesh, np.ndim(a))), batch)

"""Run in a subprocess with 8 forced host devices: one data-parallel train step (batch over 'data',
params replicated) vs the same step on one device. Exits non-zero on a mismatch over 1e-5."""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax
import numpy as np
from flax import nnx

from dreamzero_jax.configs import get_config
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.data import step_key
from dreamzero_jax.train.optim import make_optimizer
from dreamzero_jax.train.parallel import data_mesh, replicate, shard_batch
from dreamzero_jax.train.state import init_state
from dreamzero_jax.train.step import LossSpec, make_train_step, split_model
from dreamzero_jax.train.synthetic import SyntheticSampleSet


def main() -> None:
    assert jax.device_count() == 8, jax.devices()
    config = get_config("tiny")
    # Adam's first update is lr * g / (|g| + eps): elements with gradients near 0 turn reduction-order
    # differences of ~1e-9 into parameter differences up to ~lr * 1e-2, so the step uses a small lr
    cfg = TrainConfig(steps=10, batch=8, warmup=0, lr=1e-4, ema=0.9)
    graphdef, params = split_model(CausalWanDiT(config.dit, rngs=nnx.Rngs(0)))
    samples = SyntheticSampleSet(config, 8, seed=4)
    batch = samples.batch(np.arange(8))
    uncond = samples.uncond_context
    optimizer = make_optimizer(cfg)
    step = make_train_step(LossSpec(graphdef, config.dit, prompt_dropout=0.5), optimizer, cfg)
    key = step_key(0, 0, 0)

    one = jax.devices()[0]
    ref_state, ref_metrics = step(
        jax.device_put(init_state(params, optimizer, cfg), one),
        jax.device_put(batch, one),
        jax.device_put(samples.image_features, one),
        jax.device_put(uncond, one),
        key,
    )
    mesh = data_mesh(0, cfg.batch)
    sharded_batch = shard_batch(batch, mesh)
    assert len(sharded_batch.latents.sharding.device_set) == 8
    assert sharded_batch.latents.addressable_shards[0].data.shape[0] == 1  # one sample per device
    state, metrics = step(
        replicate(init_state(params, optimizer, cfg), mesh),
        sharded_batch,
        replicate(samples.image_features, mesh),
        replicate(uncond, mesh),
        key,
    )
    assert jax.tree.leaves(state.params)[0].sharding.is_fully_replicated

    def err(a, b) -> float:
        return max(
            float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
            for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
        )

    errs = {
        "params": err(state.params, ref_state.params),
        "opt_state": err(state.opt_state, ref_state.opt_state),  # Adam moments, accumulators
        "ema": err(state.ema, ref_state.ema),
        "loss": err(metrics.loss, ref_metrics.loss),
        # the norm sums ~2M squared gradient elements in a different order: compare relatively
        "grad_norm_rel": err(metrics.grad_norm, ref_metrics.grad_norm) / float(ref_metrics.grad_norm),
    }
    moved = err(state.params, params)
    print("max_abs_err", errs, "param_change", moved)
    assert moved > 1e-5  # the step really updated the weights
    assert max(errs.values()) <= 1e-5, errs


if __name__ == "__main__":
    main()

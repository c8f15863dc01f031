"""Training throughput on synthetic batches of a config's shapes (not a timed test).

    python -m dreamzero_jax.train.bench --config NAME --batch B [--steps N] [--grad-accum K] [--bf16]

Random weights, random samples of the config's latent/action shapes; times ``--steps`` optimizer steps
after one warm-up step (which compiles). Prints steps/s and samples/s. Exit codes: 0 ok, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
import time

import jax
import numpy as np

from dreamzero_jax.configs import config_names, get_config
from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.data import step_key
from dreamzero_jax.train.init import build_dit
from dreamzero_jax.train.optim import make_optimizer
from dreamzero_jax.train.parallel import data_mesh, replicate, shard_batch
from dreamzero_jax.train.state import init_state
from dreamzero_jax.train.step import LossSpec, make_train_step, split_model
from dreamzero_jax.train.synthetic import SyntheticSampleSet


def measure(config_name: str, cfg: TrainConfig, steps: int) -> dict[str, float]:
    """Seconds of compile+first step, then steps/s and samples/s over ``steps`` optimizer steps."""
    config = get_config(config_name)
    graphdef, params = split_model(build_dit(config, cfg.seed))
    mesh = data_mesh(cfg.data_parallel, cfg.batch)
    samples = SyntheticSampleSet(config, cfg.batch, seed=cfg.seed)
    batch = shard_batch(samples.batch(np.arange(cfg.batch)), mesh)
    features = replicate(samples.image_features, mesh)
    optimizer = make_optimizer(cfg)
    step = make_train_step(LossSpec(graphdef, config.dit, cfg.compute_dtype), optimizer, cfg)
    state = replicate(init_state(params, optimizer, cfg), mesh)

    def one_update(state, i):
        for micro in range(cfg.grad_accum):
            state, metrics = step(state, batch, features, None, step_key(cfg.seed, i, micro))
        return state, metrics

    t0 = time.perf_counter()
    state, metrics = one_update(state, 0)
    jax.block_until_ready(metrics)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        state, metrics = one_update(state, i)
    jax.block_until_ready((state, metrics))
    rate = steps / (time.perf_counter() - t0)
    return {"compile_s": compile_s, "steps_per_s": rate, "samples_per_s": rate * cfg.samples_per_step}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dreamzero_jax.train.bench", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("--config", required=True, help=f"one of {', '.join(config_names())}")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    p.add_argument("--bf16", action="store_true", help="bfloat16 compute")
    a = p.parse_args(argv)
    if a.config not in config_names():
        print(f"error: unknown config {a.config!r}; valid: {', '.join(config_names())}", file=sys.stderr)
        return 2
    try:
        cfg = TrainConfig(
            steps=a.steps + 1,
            batch=a.batch,
            grad_accum=a.grad_accum,
            warmup=0,
            compute_dtype="bfloat16" if a.bf16 else "float32",
        )
        result = measure(a.config, cfg, a.steps)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"config {a.config}  batch {a.batch} x accum {a.grad_accum}  {jax.device_count()} {jax.default_backend()}"
        f" device(s)  compile+first {result['compile_s']:.1f}s  {result['steps_per_s']:.2f} steps/s"
        f"  {result['samples_per_s']:.1f} samples/s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

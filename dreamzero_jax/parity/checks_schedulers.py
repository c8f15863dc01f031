"""Parity of both schedulers against the upstream fixtures.

Recognises ``scheduler_unipc.npz``, ``scheduler_flowmatch.npz`` and the per-chunk scheduler step
sequences (``chunkC_{video,action}_step_*``) inside ``forward_infer.npz``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from dreamzero_jax.parity.core import ParityResult, compare
from dreamzero_jax.schedulers import FlowMatchScheduler, FlowUniPCMultistepScheduler

# fixture files (and key groups inside shared files) this module handles
HANDLES = ("scheduler_unipc.npz", "scheduler_flowmatch.npz", "forward_infer.npz:chunk*_{video,action}_step_*")

# float32 ulp at 1000 is 6e-5 and torch.linspace rounds differently from numpy: allow a few ulps
_TIMESTEP_TOL = 5e-4


def _run_steps(sched: FlowUniPCMultistepScheduler, sample_in, model_outputs, feed_back: bool):
    """Step through all steps; feed our output back (``feed_back``) or use each recorded input."""
    step = jax.jit(sched.step)
    x = jnp.asarray(sample_in[0] if not feed_back else sample_in)
    state = sched.init_state(x)
    outs = []
    for i in range(sched.num_steps):
        if not feed_back:
            x = jnp.asarray(sample_in[i])
        x, state = step(state, jnp.asarray(model_outputs[i]), x)
        outs.append(np.asarray(x))
    return np.stack(outs)


def _unipc(path: Path) -> Iterator[ParityResult]:
    f = np.load(path)
    sched = FlowUniPCMultistepScheduler(16, 5.0)
    name = "scheduler_unipc"
    yield compare(f"{name}.timesteps", sched.timesteps, f["timesteps"], tol=0.0)
    yield compare(f"{name}.sigmas", sched.sigmas, f["sigmas"], tol=1e-6)
    for role in ("video", "action"):
        yield compare(f"{name}.{role}_order", sched.orders, f[f"{role}_out_order"], tol=0.0)
        outs = _run_steps(sched, f[f"{role}_in_sample"], f[f"{role}_in_model_outputs"], feed_back=True)
        yield compare(f"{name}.{role}_prev_samples", outs, f[f"{role}_out_prev_samples"])


def _flowmatch(path: Path) -> Iterator[ParityResult]:
    f = np.load(path)
    name = "scheduler_flowmatch"
    default = FlowMatchScheduler(100, shift=5.0, sigma_min=0.0, extra_one_step=True, training=False)
    train = FlowMatchScheduler(1000, shift=5.0, sigma_min=0.0, extra_one_step=True, training=True)
    note = "float32 table, few-ulp rounding vs torch.linspace"
    yield compare(f"{name}.default_sigmas", default.sigmas, f["default_sigmas"], tol=1e-6)
    yield compare(f"{name}.default_timesteps", default.timesteps, f["default_timesteps"], _TIMESTEP_TOL, note)
    yield compare(f"{name}.train_sigmas", train.sigmas, f["train_sigmas"], tol=1e-6)
    yield compare(f"{name}.train_timesteps", train.timesteps, f["train_timesteps"], _TIMESTEP_TOL, note)
    yield compare(f"{name}.train_weights", train.weights, f["train_weights"], tol=1e-5)
    t = jnp.asarray(f["add_noise_in_timestep"])
    out = train.add_noise(jnp.asarray(f["add_noise_in_sample"]), jnp.asarray(f["add_noise_in_noise"]), t)
    yield compare(f"{name}.add_noise", out, f["add_noise_out"])
    yield compare(f"{name}.training_weight", train.training_weight(t), f["training_weight_out"], tol=1e-5)


def _chunk_steps(path: Path) -> Iterator[ParityResult]:
    f = np.load(path)
    chunks = sorted({k.split("_")[0] for k in f.files if k.startswith("chunk") and "_step_" in k})
    sched = FlowUniPCMultistepScheduler(16, 5.0)
    for chunk in chunks:
        for role in ("video", "action"):
            key = f"{chunk}_{role}_step"
            if f"{key}_model_output" not in f.files:
                continue
            yield compare(f"forward_infer.{key}_timestep", sched.timesteps, f[f"{key}_timestep"], tol=0.0)
            yield compare(f"forward_infer.{key}_sigma", sched.sigmas[:-1], f[f"{key}_sigma"], tol=1e-6)
            yield compare(f"forward_infer.{key}_order", sched.orders, f[f"{key}_order"], tol=0.0)
            # each step from its recorded input: the scheduler alone, independent of the DiT's errors
            outs = _run_steps(sched, f[f"{key}_sample_in"], f[f"{key}_model_output"], feed_back=False)
            yield compare(f"forward_infer.{key}_prev_sample", outs, f[f"{key}_prev_sample"])


def checks(fixture_dir: Path) -> Iterator[ParityResult]:
    """All scheduler parity results for the fixture files found in ``fixture_dir`` (none if none)."""
    fixture_dir = Path(fixture_dir)
    if (fixture_dir / "scheduler_unipc.npz").is_file():
        yield from _unipc(fixture_dir / "scheduler_unipc.npz")
    if (fixture_dir / "scheduler_flowmatch.npz").is_file():
        yield from _flowmatch(fixture_dir / "scheduler_flowmatch.npz")
    if (fixture_dir / "forward_infer.npz").is_file():
        yield from _chunk_steps(fixture_dir / "forward_infer.npz")

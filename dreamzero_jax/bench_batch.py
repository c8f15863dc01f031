"""Batch benchmark of the multi-session chunk step (``python -m dreamzero_jax.bench --batch 1,2,4,8``).

For each batch size B, B sessions with distinct random inputs run episodes of ``chunks`` chunks together
through :class:`~dreamzero_jax.inference.batched.BatchedSampler` (KV cache, static DiT step caching): one
call per chunk does the cache fill and the denoising of all B sessions. After a two-chunk warm-up episode
(which compiles the batch's shapes) ``repeats`` episodes are timed. A chunk call's latency is what each of
its B sessions waits; throughput is B chunks per call latency. The summary line gives the throughput ratios
to batch 1 and the compilations after warm-up (0: joins at the same bucket never recompile).
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import nnx

from dreamzero_jax.configs import get_config
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS, DiTConfig
from dreamzero_jax.inference.batched import BatchedSampler, bucket, pad_slots
from dreamzero_jax.inference.compile_counter import CompileCounter
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT


def latent_hw(config) -> tuple[int, int]:
    """Latent size of the 2x2 view canvas (VAE: 8x spatial compression)."""
    return (2 * config.view_size[0] // 8, 2 * config.view_size[1] // 8)


@dataclasses.dataclass(frozen=True)
class BatchResult:
    """One batch size: median chunk-call latency (ms), throughput (chunks/s), compilations."""

    batch: int
    rows: int  # DiT batch rows per call (sessions x CFG branches, padded)
    latency_ms: float
    chunks_per_s: float
    warmup_compiles: int
    new_compiles: int


def batch_inputs(config, dit: DiTConfig, batch: int, chunks: int, seed: int = 0):
    """Distinct per-session inputs with a leading batch axis: conditioning, chunk inputs, observed latents."""
    hw, nb = latent_hw(config), (1 if config.cfg_scale == 1.0 else 2)
    keys = iter(jax.random.split(jax.random.key(seed), 8 + chunks))
    n = lambda *shape: jax.random.normal(next(keys), (batch, *shape))  # noqa: E731
    cond = Conditioning(
        n(nb, dit.text_len, dit.text_dim),
        n(1, CLIP_TOKENS, CLIP_DIM),
        n(1, config.latent_frames, *hw, 20),
    )
    chunk = ChunkInputs(
        n(1, 1, dit.max_state_dim),
        n(1, dit.num_frame_per_block, *hw, dit.out_dim),
        n(1, config.action_horizon, dit.action_dim),
    )
    observed = [n(1, 1 if c == 0 else dit.num_frame_per_block, *hw, dit.out_dim) for c in range(chunks)]
    return cond, chunk, observed


def run_batch_episode(batched: BatchedSampler, params, pool, batch: int, inputs, chunks: int):
    """One episode of ``chunks`` calls for ``batch`` sessions; returns (pool, per-call latency ms)."""
    cond, chunk, observed = inputs
    nfpb = batched.dit_config.num_frame_per_block
    slots = pad_slots(list(range(batch)), bucket(batch), pool.capacity)
    times = []
    for c in range(chunks):
        start = 1 + nfpb * c
        t0 = time.perf_counter()
        if c == 0:
            pool = batched.start(params, pool, slots, cond, observed[0])
        else:
            fill_starts = jnp.full((batch,), start - nfpb, jnp.int32)
            pool = batched.fill(params, pool, slots, observed[c], fill_starts)
        out = batched.denoise(params, pool, slots, chunk, jnp.full((batch,), start, jnp.int32))
        jax.block_until_ready(out.action)
        times.append((time.perf_counter() - t0) * 1e3)
    return pool, times


def benchmark_batches(
    config_name: str, sizes: list[int], chunks: int, repeats: int, log: Callable = print
) -> list[BatchResult]:
    """Measure each batch size in ``sizes`` (each a bucket size, so no padding is timed)."""
    config = get_config(config_name)
    dit = dataclasses.replace(config.dit, max_chunk_size=chunks)  # the window holds every chunk
    model = CausalWanDiT(dit, rngs=nnx.Rngs(0))
    params = nnx.state(model)
    sc = SamplerConfig(
        config.num_inference_steps, config.sigma_shift, config.cfg_scale, "static", config.num_dit_steps
    )
    results = []
    for batch in sizes:
        counter = CompileCounter()
        batched = BatchedSampler(ChunkSampler(model, sc, counter))
        pool = batched.new_pool(batch, latent_hw(config), config.latent_frames)
        inputs = batch_inputs(config, dit, batch, chunks)
        pool, _ = run_batch_episode(batched, params, pool, batch, inputs, 2)  # warm-up: compiles
        warm = counter.total
        times = []
        for _ in range(repeats):
            pool, t = run_batch_episode(batched, params, pool, batch, inputs, chunks)
            times += t
        latency = statistics.median(times)
        results.append(
            BatchResult(
                batch, bucket(batch) * sc.branches, latency, batch * 1e3 / latency, warm, counter.total - warm
            )
        )
        log(f"  batch {batch}: done ({warm} compilations in warm-up, {counter.total - warm} after)")
    return results


def batch_report(results: list[BatchResult]) -> str:
    """The table and the ``summary:`` line (throughput ratios to batch 1)."""
    base = next((r for r in results if r.batch == 1), results[0])
    head = (
        f"{'batch':>5} | {'DiT rows':>8} | {'chunk latency ms':>16} | {'chunks/s':>8} | {'throughput x':>12}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        lines.append(
            f"{r.batch:>5} | {r.rows:>8} | {r.latency_ms:>16.1f} | {r.chunks_per_s:>8.2f} | "
            f"{r.chunks_per_s / base.chunks_per_s:>12.2f}"
        )
    ratios = " ".join(
        f"batch{r.batch}_over_batch{base.batch}={r.chunks_per_s / base.chunks_per_s:.2f}"
        for r in sorted(results, key=lambda r: (r.batch != 4, r.batch))  # the headline ratio first
        if r is not base
    )
    new = sum(r.new_compiles for r in results)
    lines.append(f"summary: {ratios} new_compiles={new}")
    return "\n".join(lines)

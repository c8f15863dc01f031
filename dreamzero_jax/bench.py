"""Inference benchmark of the DreamZero chunk step: KV cache vs full recompute, DiT step caching, compiles.

    python -m dreamzero_jax.bench --config bench [--chunks 8] [--repeats 3] [--out results/bench/inference.csv]
    python -m dreamzero_jax.bench --config bench --batch 1,2,4,8 [--chunks 4] [--repeats 2]

With ``--batch`` it instead measures batched multi-session chunk calls (:mod:`dreamzero_jax.bench_batch`):
per-chunk latency and chunks/s per batch size, ending with ``summary: batch4_over_batch1=...``.

Runs the jitted chunk sampler (cache fill + denoising; the VAE and encoders are not part of it) with random
weights and inputs for ``--chunks`` chunks per episode, after a two-chunk warm-up per mode (it compiles every
shape: the first chunk's 1-frame fill, the later 2-frame fills, the denoising loop). The attention window is widened to hold all chunks (``max_chunk_size = chunks``: a window of 2*chunks+1 latent frames), so
the last chunk attends to the longest history before the head would reset. Modes: KV cache with DiT
caching off / static / dynamic, and full recompute (static; every DiT call rebuilds the K/V of the whole
history). Prints a table, writes the CSV, and ends with a machine-readable ``summary:`` line whose chunk-8
ratios use the last chunk run (``--chunks``) and chunk 2.

Exit codes: 0 ok, 2 usage error.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from dreamzero_jax.bench_batch import batch_report, benchmark_batches, latent_hw
from dreamzero_jax.compile_cache import enable_compile_cache
from dreamzero_jax.configs import config_names, get_config
from dreamzero_jax.configs.dit import CLIP_DIM, CLIP_TOKENS, DiTConfig
from dreamzero_jax.inference.compile_counter import CompileCounter
from dreamzero_jax.inference.sampler import ChunkInputs, ChunkSampler, Conditioning, SamplerConfig
from dreamzero_jax.models.dit import CausalWanDiT

EXIT_USAGE = 2
# (name, cache policy, DiT step-cache schedule)
MODES = (
    ("kv_off", "kv", "off"),
    ("kv_static", "kv", "static"),
    ("kv_dynamic", "kv", "dynamic"),
    ("recompute", "recompute", "static"),
)


def kv_cache_bytes(cfg: DiTConfig, branches: int, bytes_per_value: int) -> int:
    """Bytes of one session's K and V windows: 2 x layers x branches x window tokens x heads x head_dim."""
    return (
        2
        * cfg.num_layers
        * branches
        * cfg.max_attention_size
        * cfg.num_heads
        * cfg.head_dim
        * bytes_per_value
    )


def random_inputs(config, dit: DiTConfig, chunks: int, seed: int = 0):
    hw, nb = latent_hw(config), (1 if config.cfg_scale == 1.0 else 2)
    keys = iter(jax.random.split(jax.random.key(seed), 8 + chunks))
    n = jax.random.normal
    cond = Conditioning(
        n(next(keys), (nb, dit.text_len, dit.text_dim)),
        n(next(keys), (1, CLIP_TOKENS, CLIP_DIM)),
        n(next(keys), (1, config.latent_frames, *hw, 20)),
    )
    chunk = ChunkInputs(
        n(next(keys), (1, 1, dit.max_state_dim)),
        n(next(keys), (1, dit.num_frame_per_block, *hw, dit.out_dim)),
        n(next(keys), (1, config.action_horizon, dit.action_dim)),
    )
    observed = [
        n(next(keys), (1, 1 if c == 0 else dit.num_frame_per_block, *hw, dit.out_dim)) for c in range(chunks)
    ]
    return cond, chunk, observed


def run_episode(sampler: ChunkSampler, params, hw, cond, chunk, observed):
    """One episode of chunks; returns per-chunk (latency ms, DiT passes, actions)."""
    nfpb = sampler.dit_config.num_frame_per_block
    session, start, rows = sampler.new_session(hw), 1, []
    for c, latents in enumerate(observed):
        t0 = time.perf_counter()
        session = sampler.fill(params, session, latents, cond, jnp.int32(0 if c == 0 else start - nfpb))
        out = sampler.denoise(params, session, cond, chunk, jnp.int32(start))
        actions = np.asarray(out.action)  # waits for the chunk
        rows.append(((time.perf_counter() - t0) * 1e3, int(np.asarray(out.ran).sum()), actions))
        start += nfpb
    return rows


def benchmark(config_name: str, chunks: int, repeats: int, log=print) -> dict:
    config = get_config(config_name)
    dit = dataclasses.replace(config.dit, max_chunk_size=chunks)  # window holds every chunk (see docstring)
    model = CausalWanDiT(dit, rngs=nnx.Rngs(0))
    params, hw = nnx.state(model), latent_hw(config)
    cond, chunk, observed = random_inputs(config, dit, chunks)
    results, compiles_after_warmup, new_compiles = {}, 0, 0
    for name, policy, schedule in MODES:
        counter = CompileCounter()
        sc = SamplerConfig(
            config.num_inference_steps,
            config.sigma_shift,
            config.cfg_scale,
            schedule,
            config.num_dit_steps,
            policy,
        )
        sampler = ChunkSampler(model, sc, counter)
        run_episode(sampler, params, hw, cond, chunk, observed[:2])  # warm-up: compiles every shape
        warm = counter.total
        episodes = [run_episode(sampler, params, hw, cond, chunk, observed) for _ in range(repeats)]
        compiles_after_warmup += warm
        new_compiles += counter.total - warm
        results[name] = [
            (statistics.median(ep[c][0] for ep in episodes), episodes[0][c][1], episodes[0][c][2])
            for c in range(chunks)
        ]
        log(f"  {name}: done ({warm} compilations in warm-up, {counter.total - warm} after)")
    return {
        "config": config,
        "dit": dit,
        "results": results,
        "compiles": compiles_after_warmup,
        "new_compiles": new_compiles,
    }


def report(bench: dict, out: Path) -> str:
    res, config = bench["results"], bench["config"]
    chunks = len(res["kv_static"])
    rows, lines = [], []
    head = (
        f"{'chunk':>5} | "
        + " | ".join(f"{m:>12} ms" for m, _, _ in MODES)
        + " | passes off/static/dynamic | action dev static/dynamic"
    )
    lines += [head, "-" * len(head)]
    for c in range(chunks):
        off = res["kv_off"][c][2]
        dev = {m: float(np.abs(res[m][c][2] - off).max()) for m in ("kv_static", "kv_dynamic")}
        passes = "/".join(str(res[m][c][1]) for m in ("kv_off", "kv_static", "kv_dynamic"))
        lines.append(
            f"{c + 1:>5} | "
            + " | ".join(f"{res[m][c][0]:>15.1f}" for m, _, _ in MODES)
            + f" | {passes:>25} | {dev['kv_static']:.3g}/{dev['kv_dynamic']:.3g}"
        )
        for m, policy, schedule in MODES:
            dev_m = float(np.abs(res[m][c][2] - off).max())
            rows.append([m, policy, schedule, c + 1, f"{res[m][c][0]:.3f}", res[m][c][1], f"{dev_m:.6g}"])
    branches = 1 if config.cfg_scale == 1.0 else 2
    sizes = {
        "tiny": kv_cache_bytes(get_config("tiny").dit, branches, 4),
        "droid_14b": kv_cache_bytes(get_config("droid_14b").dit, branches, 2),
    }
    lines.append(
        f"KV cache per session ({branches} CFG branches): tiny float32 {sizes['tiny']:,} B; "
        f"droid_14b bfloat16 {sizes['droid_14b'] / 1e9:.2f} GB (window {get_config('droid_14b').dit.local_attn_size} frames)"
    )
    lines.append(
        f"compilations: {bench['compiles']} in warm-up, {bench['new_compiles']} new across measured chunks and episodes"
    )
    c2, c8 = min(1, chunks - 1), chunks - 1
    mean = lambda m, key: float(np.mean([r[key] for r in res[m]]))  # noqa: E731
    summary = {
        "kv_flatness": res["kv_static"][c8][0] / res["kv_static"][c2][0],
        "recompute_over_cached": res["recompute"][c8][0] / res["kv_static"][c8][0],
        "dit_pass_ratio": mean("kv_off", 1) / mean("kv_static", 1),
        "dit_speedup": mean("kv_off", 0) / mean("kv_static", 0),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["mode", "cache_policy", "dit_cache", "chunk", "latency_ms", "dit_passes", "action_dev_vs_off"]
        )
        w.writerows(rows)
        for key, value in sizes.items():
            w.writerow([f"kv_cache_bytes_{key}", "", "", "", "", "", value])
        w.writerow(["new_compiles", "", "", "", "", "", bench["new_compiles"]])
    lines.append(
        "summary: "
        + " ".join(f"{k}={v:.2f}" for k, v in summary.items())
        + f" new_compiles={bench['new_compiles']}"
    )
    return "\n".join(lines)


def parse_sizes(text: str) -> list[int] | None:
    """``"1,2,4,8"`` -> [1, 2, 4, 8]; None unless every size is a power of two (a bucket: no padding)."""
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        return None
    if not sizes or any(n < 1 or n & (n - 1) for n in sizes):
        return None
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dreamzero_jax.bench",
        description=__doc__.split("\n")[0],
        epilog="Exit codes: 0 ok, 2 usage error.",
    )
    p.add_argument(
        "--config", default="bench", help="model config to benchmark (default: bench; tiny for a smoke run)"
    )
    p.add_argument(
        "--chunks", type=int, default=None, help="chunks per episode (>= 2; default 8, with --batch 4)"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="measured episodes per mode after the warm-up (default 3, with --batch 2)",
    )
    p.add_argument(
        "--batch",
        default=None,
        help="comma-separated batch sizes (sessions per call, each 1, 2, 4, 8 or a power of two), e.g. 1,2,4,8",
    )
    p.add_argument("--out", type=Path, default=Path("results/bench/inference.csv"), help="CSV output path")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.config not in config_names():
        print(f"error: unknown --config {args.config!r}; valid: {', '.join(config_names())}", file=sys.stderr)
        return EXIT_USAGE
    batched = args.batch is not None
    chunks = args.chunks if args.chunks is not None else (4 if batched else 8)
    repeats = args.repeats if args.repeats is not None else (2 if batched else 3)
    if chunks < 2 or repeats < 1:
        print("error: --chunks must be >= 2 and --repeats >= 1", file=sys.stderr)
        return EXIT_USAGE
    enable_compile_cache()  # the timed chunks run after a warm-up; the cache only shortens the start
    if batched:
        sizes = parse_sizes(args.batch)
        if sizes is None:
            print(f"error: --batch {args.batch!r}: give powers of two like 1,2,4,8", file=sys.stderr)
            return EXIT_USAGE
        print(
            f"batch benchmark of {args.config}: {chunks} chunks x {repeats} repeats on {jax.devices()[0].platform}"
        )
        print(batch_report(benchmark_batches(args.config, sizes, chunks, repeats)))
        return 0
    print(
        f"benchmarking {args.config} for {chunks} chunks x {repeats} repeats on {jax.devices()[0].platform}"
    )
    print(report(benchmark(args.config, chunks, repeats), args.out))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Parameter counts and an inference plan of a DreamZero config, from abstract models (nothing allocated).

    python -m dreamzero_jax.info --config droid_14b [--components dit,vae] [--json]
    python -m dreamzero_jax.info --config droid_14b --mesh model=8 --dtype bfloat16 [--batch B]

Prints, per component, the parameters of each top-level submodule (DiT: blocks, embeddings, action
modules, head, ...) and the total, with the bytes they take in bfloat16. With ``--mesh``, ``--dtype`` or
``--batch`` it also prints the plan of :mod:`dreamzero_jax.planning`: per-device memory (weights, KV cache
per session, one chunk step's activations), FLOPs per DiT pass and per chunk, and the largest batch that
fits v5e-8, v5p-8, 1x and 8x H100.
Exit codes: 0 success; 2 usage error (unknown config or component, bad mesh, dtype or batch).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections import Counter

from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.configs import COMPONENT_NAMES, config_names, get_config
from dreamzero_jax.convert.apply import param_table
from dreamzero_jax.models.precision import PRECISIONS
from dreamzero_jax.planning import ACCELERATORS, Plan, largest_batch, plan
from dreamzero_jax.sharding import parse_mesh

BF16_BYTES = 2


def parameter_counts(model) -> dict[str, int]:
    """Top-level submodule name -> number of parameters (``nnx.Param`` elements) of ``model``."""
    counts: Counter[str] = Counter()
    for path, var in param_table(model).items():
        counts[path.split(".", 1)[0]] += math.prod(var.get_value().shape)
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def component_counts(config_name: str, components: list[str]) -> dict[str, dict[str, int] | str]:
    """Per component: its submodule counts, or a string saying the config has no such component."""
    config = get_config(config_name)
    out: dict[str, dict[str, int] | str] = {}
    for name in components:
        sub = config.component(name)
        if sub is None:
            out[name] = f"no {name} config in {config_name!r}"
            continue
        out[name] = parameter_counts(abstract_model(name, sub))
    return out


def _human(n_bytes: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n_bytes < 1000 or unit == "TB":
            return f"{n_bytes:.1f} {unit}" if unit != "B" else f"{int(n_bytes)} B"
        n_bytes /= 1000
    raise AssertionError("unreachable")


def render(config_name: str, counts: dict[str, dict[str, int] | str]) -> str:
    lines = [f"config {config_name} (parameters from abstract models; bf16 = 2 bytes each)"]
    lines.append(f"{'component':<10} {'submodule':<18} {'parameters':>16} {'bf16':>10}")
    grand = 0
    for name, sub in counts.items():
        if isinstance(sub, str):
            lines.append(f"{name:<10} {'-':<18} {sub}")
            continue
        for module, n in sub.items():
            lines.append(f"{name:<10} {module:<18} {n:>16,} {_human(n * BF16_BYTES):>10}")
        total = sum(sub.values())
        grand += total
        lines.append(f"{name:<10} {'TOTAL':<18} {total:>16,} {_human(total * BF16_BYTES):>10}")
    lines.append(f"{'all':<10} {'TOTAL':<18} {grand:>16,} {_human(grand * BF16_BYTES):>10}")
    return "\n".join(lines)


def render_plan(config_name: str, precision: str, mesh: dict[str, int], batch: int, p: Plan) -> str:
    h = _human
    lines = [
        f"plan: {config_name}, {precision}, mesh data:{mesh['data']},model:{mesh['model']}, batch {batch} "
        f"({p.sessions_per_device} session(s) per device); memory per device:",
        "  weights    "
        + ", ".join(f"{k} {h(v)}" for k, v in p.weights.items() if v)
        + " (dit sharded, rest replicated)",
        f"  KV cache   {h(p.kv_per_session)} per session (both CFG branches, updated in place); "
        f"latent history {h(p.history_per_session)} per session",
        f"  activations of one chunk step {h(p.activations)} + attention logits {h(p.attention_logits)} "
        "(logits: 0 with a fused attention kernel)",
        f"  total      {h(p.total)} ({h(p.total_fused)} with fused attention)",
        f"FLOPs (whole model, per session): DiT pass {p.flops_dit_pass / 1e12:.1f} T, fill pass "
        f"{p.flops_fill_pass / 1e12:.1f} T, chunk = 1 fill + {p.dit_passes} passes = {p.flops_chunk / 1e12:.1f} T",
    ]
    return "\n".join(lines)


def render_targets(config, precision: str) -> str:
    lines = [
        f"largest batch per target (mesh data:1,model:<devices>, {precision}, {int(100 * 0.9)} % of HBM; "
        "chunk time at 100 % of peak, batch 1):"
    ]
    config_plan = plan(config, precision, {"data": 1, "model": 1}, 1)
    for t in ACCELERATORS:
        ideal = config_plan.flops_chunk / (t.devices * t.peak_flops)
        lines.append(
            f"  {t.name:<7} {t.devices} x {_human(t.hbm_bytes)}: batch <= {largest_batch(config, precision, t)}"
            f" (<= {largest_batch(config, precision, t, fused=True)} with fused attention); >= {ideal:.2f} s/chunk"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m dreamzero_jax.info",
        description="Print parameter counts per component of a DreamZero config without allocating it.",
        epilog="Exit codes: 0 ok, 2 usage error.",
    )
    p.add_argument(
        "--config", default="droid_14b", help=f"one of {', '.join(config_names())} (default droid_14b)"
    )
    p.add_argument(
        "--components", help=f"comma-separated subset of {','.join(COMPONENT_NAMES)} (default: all)"
    )
    p.add_argument("--json", action="store_true", help="print the counts as JSON instead of a table")
    p.add_argument("--mesh", help="plan for this mesh, e.g. model=8 or data:2,model:4 (default model=1)")
    p.add_argument("--dtype", choices=sorted(PRECISIONS), help="plan at this precision (default bfloat16)")
    p.add_argument("--batch", type=int, help="plan for this many concurrent sessions (default 1)")
    args = p.parse_args(argv)
    if args.config not in config_names():
        print(f"error: unknown --config {args.config!r}; valid: {', '.join(config_names())}", file=sys.stderr)
        return 2
    components = [c.strip() for c in args.components.split(",")] if args.components else list(COMPONENT_NAMES)
    bad = [c for c in components if c not in COMPONENT_NAMES]
    if bad:
        print(f"error: unknown component {bad[0]!r}; valid: {', '.join(COMPONENT_NAMES)}", file=sys.stderr)
        return 2
    try:
        mesh = parse_mesh(args.mesh or "model:1")
    except ValueError as e:
        print(f"error: --mesh: {e}", file=sys.stderr)
        return 2
    if args.batch is not None and args.batch < 1:
        print(f"error: --batch must be >= 1, got {args.batch}", file=sys.stderr)
        return 2
    counts = component_counts(args.config, components)
    want_plan = args.mesh is not None or args.dtype is not None or args.batch is not None
    if not want_plan:
        print(
            json.dumps({"config": args.config, "components": counts}, indent=1)
            if args.json
            else render(args.config, counts)
        )
        return 0
    config, precision, batch = get_config(args.config), args.dtype or "bfloat16", args.batch or 1
    the_plan = plan(config, precision, mesh, batch)
    if args.json:
        out = {"config": args.config, "components": counts, "plan": dataclasses.asdict(the_plan)}
        print(json.dumps(out | {"dtype": precision, "mesh": mesh, "batch": batch}, indent=1))
        return 0
    print(render(args.config, counts))
    print(render_plan(args.config, precision, mesh, batch, the_plan))
    print(render_targets(config, precision))
    return 0


if __name__ == "__main__":
    sys.exit(main())

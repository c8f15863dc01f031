"""Parameter counts of a DreamZero config, from abstract models (``nnx.eval_shape``; nothing allocated).

    python -m dreamzero_jax.info --config droid_14b [--components dit,vae] [--json]

Prints, per component, the parameters of each top-level submodule (DiT: blocks, embeddings, action
modules, head, ...) and the total, with the bytes they take in bfloat16.
Exit codes: 0 success; 2 usage error (unknown config or component).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter

from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.configs import COMPONENT_NAMES, config_names, get_config
from dreamzero_jax.convert.apply import param_table

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
    args = p.parse_args(argv)
    if args.config not in config_names():
        print(f"error: unknown --config {args.config!r}; valid: {', '.join(config_names())}", file=sys.stderr)
        return 2
    components = [c.strip() for c in args.components.split(",")] if args.components else list(COMPONENT_NAMES)
    bad = [c for c in components if c not in COMPONENT_NAMES]
    if bad:
        print(f"error: unknown component {bad[0]!r}; valid: {', '.join(COMPONENT_NAMES)}", file=sys.stderr)
        return 2
    counts = component_counts(args.config, components)
    print(
        json.dumps({"config": args.config, "components": counts}, indent=1)
        if args.json
        else render(args.config, counts)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

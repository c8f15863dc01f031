"""Convert an original DreamZero PyTorch checkpoint (safetensors) to orbax NNX states.

    python -m dreamzero_jax.convert --input <file.safetensors | index.json | dir> --output <dir>
        [--config tiny|droid_14b|bench] [--components dit,vae,t5,clip] [--dtype float32|bfloat16]
        [--stats normalization.json] [--dry-run]

Writes the inference checkpoint layout of :mod:`dreamzero_jax.checkpoint.policy_dir` (the one training
exports too): ``<output>/<component>/`` (an orbax checkpoint of the component's ``nnx.Param`` state),
``<output>/model_config.json``, ``<output>/normalization.json`` (from ``--stats``), plus
``<output>/manifest.json`` (what was converted from where). Components may be converted in several runs
into one output directory; a note lists what the policy still lacks. ``--dry-run`` only checks names and shapes against the config, built
abstractly, so it works for ``droid_14b`` without allocating anything.

Exit codes: 0 success; 1 missing, unexpected or shape-mismatched keys; 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.checkpoint.orbax_io import DTYPES, save_state
from dreamzero_jax.checkpoint.policy_dir import write_policy_files
from dreamzero_jax.configs import config_names, get_config
from dreamzero_jax.convert.apply import ConversionReport, load_streaming, param_table, plan, route
from dreamzero_jax.convert.components import RULES_MODULES
from dreamzero_jax.convert.lora import fold_lora
from dreamzero_jax.convert.safetensors_io import CheckpointError, CheckpointReader
from dreamzero_jax.normalization import STATS_FILE, NormStats

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE = 0, 1, 2
MAX_LISTED = 20  # problem lines printed per component


class UsageError(Exception):
    """A user mistake: reported as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dreamzero_jax.convert",
        description="Convert DreamZero PyTorch safetensors weights into orbax NNX checkpoints.",
        epilog="Exit codes: 0 ok, 1 missing/unexpected/mis-shaped keys, 2 usage or input error.",
    )
    p.add_argument(
        "--input",
        required=True,
        help="a .safetensors file, a sharded index .json (weight_map), or a directory",
    )
    p.add_argument("--output", help="orbax output directory (required unless --dry-run)")
    p.add_argument("--config", default="droid_14b", help="model config to convert into (default: droid_14b)")
    p.add_argument(
        "--components",
        help=f"comma-separated subset of {','.join(RULES_MODULES)} (default: every component found in the input)",
    )
    p.add_argument(
        "--dtype",
        default=None,
        choices=sorted(DTYPES),
        help="cast parameters to this dtype (default: keep model dtype)",
    )
    p.add_argument(
        "--lora-scale",
        type=float,
        default=1.0,
        help="lora_alpha / rank used to fold PEFT LoRA adapters into their base weights, for checkpoints "
        "that carry them (DreamZero's LoRA configs use alpha = rank = 4, i.e. 1.0)",
    )
    p.add_argument(
        "--stats",
        help=f"state/action statistics ({STATS_FILE} format: state/action min/max) to write beside the "
        "weights; the policy needs them to (de)normalise",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="only report missing/unexpected/mis-shaped keys against the abstract model; write nothing",
    )
    return p


def _available_components(config) -> list[str]:
    """The components ``config`` defines (a config may leave some out, e.g. no CLIP)."""
    return [name for name in RULES_MODULES if config.component(name) is not None]


def _selected(args, config) -> tuple[list[str], bool]:
    available = _available_components(config)
    if not args.components:
        return available, False
    wanted = [c.strip() for c in args.components.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in RULES_MODULES]
    if unknown:
        raise UsageError(
            f"unknown component {unknown[0]!r} in --components; valid: {', '.join(RULES_MODULES)}"
        )
    missing = [c for c in wanted if c not in available]
    if missing:
        raise UsageError(
            f"config {config.name!r} has no {missing[0]!r} component; it has {', '.join(available)}"
        )
    return wanted, True


def _print_report(report: ConversionReport, model) -> None:
    n_params = sum(math.prod(v.get_value().shape) for v in param_table(model).values())
    print(("OK    " if report.ok else "FAIL  ") + report.summary() + f" model_params={n_params:,}")
    lines = report.problem_lines()
    for line in lines[:MAX_LISTED]:
        print(f"      {line}")
    if len(lines) > MAX_LISTED:
        print(f"      ... and {len(lines) - MAX_LISTED} more")


def run(args: argparse.Namespace) -> int:
    if not args.dry_run and not args.output:
        raise UsageError("--output is required unless --dry-run is given")
    try:
        config = get_config(args.config)
    except KeyError:
        raise UsageError(f"unknown --config {args.config!r}; valid: {', '.join(config_names())}") from None
    try:
        reader = fold_lora(CheckpointReader(args.input), args.lora_scale)
        names = reader.names()
    except CheckpointError as e:
        raise UsageError(str(e)) from None
    components, explicit = _selected(args, config)
    stats = None if args.dry_run else _load_stats(args.stats)
    # route with every available component so other components' tensors are not called unexpected
    shard_of = {n: info.shard for n, info in reader.infos().items()}
    routed, unrouted = route(names, _available_components(config), shard_of)
    status = EXIT_OK
    if unrouted:
        status = EXIT_MISMATCH
        print(f"FAIL  {len(unrouted)} tensors belong to no known component, e.g. {unrouted[0]}")
    manifest = {
        "config": config.name,
        "input": str(Path(args.input).absolute()),
        "dtype": args.dtype,
        "components": {},
    }
    for component in components:
        if not routed.get(component):
            if explicit:
                status = EXIT_MISMATCH
                print(f"FAIL  {component}: no tensors for this component in {args.input}")
            continue
        model = abstract_model(component, config.component(component))
        shapes = reader.shapes()
        _, report = plan({s: shapes[f] for s, f in routed[component].items()}, component, model)
        _print_report(report, model)
        if not report.ok:
            status = EXIT_MISMATCH
            continue
        if args.dry_run:
            continue
        dtype = DTYPES[args.dtype] if args.dtype else None
        state, _ = load_streaming(model, reader, component, names=routed[component], dtype=dtype)
        out = save_state(
            Path(args.output) / component, state, metadata={"component": component, "config": config.name}
        )
        del state
        manifest["components"][component] = {"path": component, "tensors": report.mapped}
        print(f"      wrote {out}")
    if not args.dry_run and status == EXIT_OK:
        Path(args.output, "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        write_policy_files(args.output, config, stats)
        _note_incomplete(Path(args.output), config)
    return status


def _load_stats(path: str | None) -> NormStats | None:
    if path is None:
        return None
    try:
        return NormStats.load(path)
    except (OSError, ValueError, KeyError) as e:
        raise UsageError(f"--stats {path}: not a {STATS_FILE} with state/action min/max ({e})") from None


def _note_incomplete(out: Path, config) -> None:
    """Say what the output still lacks before ``--checkpoint`` can load it (other runs may add it)."""
    missing = [c for c in _available_components(config) if not (out / c).is_dir()]
    if not (out / STATS_FILE).is_file():
        missing.append(f"{STATS_FILE} (pass --stats)")
    if missing:
        print(f"note: {out} is not yet a complete policy checkpoint; missing: {', '.join(missing)}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())

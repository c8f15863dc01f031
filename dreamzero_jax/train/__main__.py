"""Train DreamZero's DiT on a dataset and export a policy checkpoint.

    python -m dreamzero_jax.train --config NAME --data DIR [DIR ...] --out CKPT_DIR [--steps N] [--batch B]
        [--grad-accum K] [--lr LR] [--phases P [P ...]] [--init CKPT] [--resume] [--overwrite] [--seed S] ...

Several ``--data`` datasets (e.g. expert demonstrations and DAgger episodes recorded with
``evals.run --policy dagger``) train one model with one set of statistics; ``--phases`` gives one value
for all of them or one per dataset.

Training state (orbax checkpoints, metrics.csv, loss.png) goes to CKPT_DIR/train/; the policy checkpoint
is exported into CKPT_DIR at the end (``--checkpoint CKPT_DIR`` for the policy). An existing CKPT_DIR is
never overwritten unless ``--resume`` (continue from its latest checkpoint) or ``--overwrite`` (delete it
and start again). Exit codes: 0 ok, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from dreamzero_jax.train.config import COMPUTE_DTYPES, DataSource, TrainConfig

EXIT_USAGE = 2
# CLI flag -> TrainConfig field, for the flags that just override a default
TRAIN_FLAGS = {
    "steps": int,
    "batch": int,
    "grad_accum": int,
    "lr": float,
    "warmup": int,
    "weight_decay": float,
    "clip": float,
    "ema": float,
    "seed": int,
    "action_weight": float,
    "checkpoint_every": int,
    "eval_every": int,
    "eval_batches": int,
    "prompt_dropout": float,
    "data_parallel": int,
}


class UsageError(Exception):
    """A user mistake: reported as one line, exit code 2."""


@dataclass(frozen=True)
class RunSpec:
    config: str
    data: tuple[Path, ...]
    out: Path
    cache: Path | None  # --cache (one dataset only); None: each dataset caches in DIR/cache
    init: Path | None
    resume: bool
    overwrite: bool
    train: TrainConfig

    @property
    def run_dir(self) -> Path:
        return self.out / "train"

    def sources(self) -> tuple[DataSource, ...]:
        """The datasets with their caches and phases (``ValueError`` when the counts do not match)."""
        phases = self.train.phases_for(len(self.data))
        caches = [self.cache or d / "cache" for d in self.data]
        return tuple(DataSource(d, c, p) for d, c, p in zip(self.data, caches, phases, strict=True))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m dreamzero_jax.train",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--config", required=True, help="model config name (dreamzero_jax.configs)")
    p.add_argument("--data", required=True, type=Path, nargs="+", help="LeRobot dataset directories")
    p.add_argument("--out", required=True, type=Path, help="checkpoint directory to create")
    p.add_argument("--cache", type=Path, help="encoder-output cache of a single --data (default: DATA/cache)")
    p.add_argument("--init", type=Path, help="start from this converted checkpoint (CKPT/dit/)")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--overwrite", action="store_true", help="delete an existing --out and start again")
    defaults = TrainConfig()
    for name, kind in TRAIN_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, help=f"default {getattr(defaults, name)}")
    p.add_argument(
        "--phases",
        type=int,
        nargs="+",
        help=f"training windows per call interval, one value or one per --data (default {defaults.phases[0]})",
    )
    p.add_argument(
        "--compute-dtype", choices=COMPUTE_DTYPES, help="forward/backward dtype (weights stay f32)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def parse_args(argv: list[str] | None = None) -> RunSpec:
    """Command line -> RunSpec (argparse exits 2 on malformed flags; UsageError for bad values)."""
    a = build_parser().parse_args(argv)
    overrides = {k: getattr(a, k) for k in TRAIN_FLAGS if getattr(a, k) is not None}
    if a.phases is not None:
        overrides["phases"] = tuple(a.phases)
    if a.compute_dtype is not None:
        overrides["compute_dtype"] = a.compute_dtype
    if a.no_progress:
        overrides["progress"] = False
    try:
        train = dataclasses.replace(TrainConfig(), **overrides)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if a.cache is not None and len(a.data) > 1:
        raise UsageError("--cache takes a single --data; with several, each dataset caches in DIR/cache")
    spec = RunSpec(a.config, tuple(a.data), a.out, a.cache, a.init, a.resume, a.overwrite, train)
    try:
        spec.sources()
    except ValueError as e:
        raise UsageError(f"--phases: {e}") from None
    return spec


def check_out_dir(spec: RunSpec) -> None:
    """Refuse to touch an existing, non-empty --out unless told to resume or overwrite it."""
    if spec.resume and spec.overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    if spec.out.exists() and not spec.out.is_dir():
        raise UsageError(f"--out {spec.out} is a file")
    if spec.out.is_dir() and any(spec.out.iterdir()) and not (spec.resume or spec.overwrite):
        raise UsageError(
            f"--out {spec.out} exists; pass --resume to continue it or --overwrite to replace it"
        )


def _resumed_config(spec: RunSpec) -> str | None:
    from dreamzero_jax.train.checkpointing import Checkpoints

    ckpts_dir = spec.run_dir / "checkpoints"
    if not (spec.resume and ckpts_dir.is_dir()):
        return None
    with Checkpoints(ckpts_dir) as ckpts:
        meta = ckpts.latest_meta()
    return None if meta is None else meta["model_config"]


def run(spec: RunSpec) -> Path:
    """Validate, build samples and model, train, export. Raises UsageError for bad input."""
    from dreamzero_jax.configs import get_config

    try:
        config = get_config(spec.config)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    for data in spec.data:
        if not data.is_dir():
            raise UsageError(f"--data {data} is not a directory")
    if spec.init is not None and not spec.init.is_dir():
        raise UsageError(f"--init {spec.init} is not a directory")
    check_out_dir(spec)
    resumed = _resumed_config(spec)
    if resumed is not None and resumed != config.name:
        raise UsageError(f"--out {spec.out} holds a run of config {resumed!r}, not {config.name!r}")

    from dreamzero_jax.train.export import export_trained
    from dreamzero_jax.train.init import build_dit
    from dreamzero_jax.train.loop import train
    from dreamzero_jax.train.open_loop import sampler_actions
    from dreamzero_jax.train.prepare import prepare_samples

    try:
        model = build_dit(config, spec.train.seed, spec.init)
        prepared = prepare_samples(config, spec.sources(), spec.init, spec.train.seed)
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e).splitlines()[0] if str(e) else type(e).__name__) from None
    config = prepared.config  # with the VAE constants the samples are normalised for
    train_set, val_set = prepared.train, prepared.val
    if len(train_set) == 0:
        raise UsageError(f"--data {' '.join(map(str, spec.data))} has no training samples")
    if spec.overwrite and spec.out.exists():
        shutil.rmtree(spec.out)
    eval_actions = sampler_actions(model, config, train_set.image_features, train_set.uncond_context)
    result = train(
        model,
        config,
        spec.train,
        train_set,
        spec.run_dir,
        val_set=val_set,
        resume=spec.resume,
        eval_actions=eval_actions,
    )
    export_trained(spec.out, config, result, prepared)
    return spec.out


def main(argv: list[str] | None = None) -> int:
    try:
        spec = parse_args(argv)
        out = run(spec)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    print(f"trained {spec.config} for {spec.train.steps} steps; checkpoint in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

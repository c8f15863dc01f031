"""The training loop: ordered batches -> jitted steps -> metrics, validation, checkpoints, resume.

    result = train(model, model_config, TrainConfig(steps=1000), train_set, run_dir, val_set=val_set)

``run_dir`` layout: ``checkpoints/<step>/`` (orbax), ``metrics.csv``, ``loss.png``. With
``resume=True`` the run continues from the latest checkpoint in ``run_dir`` (params, optimizer state,
EMA, step and data position), and reaches the same parameters as an uninterrupted run: the batch
order and every PRNG key are functions of (seed, step) only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jax
import numpy as np
from flax import nnx
from tqdm import tqdm

from dreamzero_jax.configs import ModelConfig
from dreamzero_jax.inference.compile_counter import CompileCounter
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.train.batch import SampleSet, TrainBatch
from dreamzero_jax.train.checkpointing import Checkpoints, Position
from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.data import eval_key, step_key, stream_indices
from dreamzero_jax.train.metrics import MetricsLog, plot_losses
from dreamzero_jax.train.optim import lr_schedule, make_optimizer
from dreamzero_jax.train.parallel import data_mesh, replicate, shard_batch
from dreamzero_jax.train.state import TrainState, export_params, init_state
from dreamzero_jax.train.step import LossSpec, make_eval_step, make_train_step, split_model

# ``eval_actions(params, batch) -> actions [B, A, action_dim]``: the actions the sampler would output.
EvalActions = Callable[[nnx.State, TrainBatch], jax.Array]


@dataclass
class TrainResult:
    state: TrainState
    graphdef: nnx.GraphDef
    step: int
    run_dir: Path
    compiles: CompileCounter = field(default_factory=CompileCounter)

    @property
    def params(self) -> nnx.State:
        """The weights to export (EMA when the run keeps one)."""
        return export_params(self.state)


def prompt_dropout(model_config: ModelConfig, cfg: TrainConfig) -> float:
    """Effective prompt-dropout probability: only configs sampled with CFG learn an unconditional branch."""
    return cfg.prompt_dropout if model_config.cfg_scale != 1.0 else 0.0


class _Runner:
    """One run's compiled steps and placed constants."""

    def __init__(self, model, model_config, cfg, train_set, val_set, eval_actions):
        self.cfg, self.train_set, self.val_set, self.eval_actions = cfg, train_set, val_set, eval_actions
        self.mesh = data_mesh(cfg.data_parallel, cfg.batch)
        self.graphdef, params = split_model(model)
        p_drop = prompt_dropout(model_config, cfg)
        uncond = getattr(train_set, "uncond_context", None) if p_drop > 0 else None
        if p_drop > 0 and uncond is None:
            raise ValueError(
                "prompt dropout needs the sample set's uncond_context (negative-prompt embedding)"
            )
        spec = LossSpec(self.graphdef, model_config.dit, cfg.compute_dtype, p_drop, cfg.action_weight)
        self.optimizer = make_optimizer(cfg)
        self.schedule = lr_schedule(cfg)
        self.compiles = CompileCounter()
        self.train_step = make_train_step(spec, self.optimizer, cfg, self.compiles)
        self.eval_step = make_eval_step(spec, self.compiles)
        self.image_features = replicate(np.asarray(train_set.image_features, np.float32), self.mesh)
        self.uncond = None if uncond is None else replicate(np.asarray(uncond, np.float32), self.mesh)
        self.initial = replicate(init_state(params, self.optimizer, cfg), self.mesh)

    def run_step(self, state: TrainState, position: Position) -> tuple[TrainState, Position, dict]:
        cfg, sums = self.cfg, None
        data_position = position.data_position
        for micro in range(cfg.grad_accum):
            idx = stream_indices(cfg.seed, len(self.train_set), data_position, cfg.batch)
            batch = shard_batch(self.train_set.batch(idx), self.mesh)
            key = step_key(cfg.seed, position.step, micro)
            state, m = self.train_step(state, batch, self.image_features, self.uncond, key)
            sums = m if sums is None else jax.tree.map(lambda a, b: a + b, sums, m)
            data_position += cfg.batch
        means = {k: v / cfg.grad_accum for k, v in sums._asdict().items()}
        return state, Position(position.step + 1, data_position), means

    def validate(self, state: TrainState) -> dict:
        if self.val_set is None or len(self.val_set) == 0:
            return {}
        params, cfg = export_params(state), self.cfg
        losses, mses = [], []
        for i in range(cfg.eval_batches):
            idx = np.arange(i * cfg.batch, (i + 1) * cfg.batch) % len(self.val_set)
            host = self.val_set.batch(idx)
            terms = self.eval_step(
                params, shard_batch(host, self.mesh), self.image_features, eval_key(cfg.seed)
            )
            losses.append([float(t) for t in terms])
            if self.eval_actions is not None:
                pred = np.asarray(self.eval_actions(params, host), np.float32)
                mses.append(float(np.mean((pred - np.asarray(host.actions, np.float32)) ** 2)))
            if (i + 1) * cfg.batch >= len(self.val_set):
                break  # every validation sample seen once
        loss, video, action = np.mean(losses, axis=0)
        row = {"val_loss": loss, "val_video_loss": video, "val_action_loss": action}
        if mses:
            row["val_action_mse"] = float(np.mean(mses))
        return row


def train(
    model: CausalWanDiT,
    model_config: ModelConfig,
    cfg: TrainConfig,
    train_set: SampleSet,
    run_dir: Path,
    *,
    val_set: SampleSet | None = None,
    resume: bool = False,
    eval_actions: EvalActions | None = None,
    on_step: Callable[[int, TrainState], None] | None = None,
) -> TrainResult:
    """Train ``model``'s DiT for ``cfg.steps`` optimizer steps (see the module docstring).

    ``on_step(step, state)`` runs after each optimizer step (after its checkpoint, if any).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    runner = _Runner(model, model_config, cfg, train_set, val_set, eval_actions)
    state, position = runner.initial, Position(0, 0)
    with Checkpoints(run_dir / "checkpoints", cfg.keep_checkpoints) as ckpts:
        if resume and ckpts.latest_step() is not None:
            state, position, meta = ckpts.restore(runner.initial)
            if meta["model_config"] != model_config.name:
                raise ValueError(
                    f"{run_dir} holds a run of config {meta['model_config']!r}, not {model_config.name!r}"
                )
        log = MetricsLog(run_dir / "metrics.csv", position.step if resume else None)
        bar = tqdm(total=cfg.steps, initial=position.step, disable=not cfg.progress, unit="step")
        tick, since = time.perf_counter(), position.step
        while position.step < cfg.steps:
            state, position, means = runner.run_step(state, position)
            step = position.step
            last = step == cfg.steps
            if step % cfg.log_every == 0 or last:
                row = {"step": step, **{k: float(v) for k, v in means.items()}}
                now = time.perf_counter()
                row["steps_per_s"] = (step - since) / (now - tick)
                row["samples_per_s"] = row["steps_per_s"] * cfg.samples_per_step
                row["lr"] = float(runner.schedule(step - 1))  # the rate this step's update used
                if (cfg.eval_every and step % cfg.eval_every == 0) or last:
                    row.update(runner.validate(state))
                log.append(row)
                bar.set_postfix(loss=f"{row['loss']:.4f}", refresh=False)
                tick, since = time.perf_counter(), step
            bar.update(1)
            if step % cfg.checkpoint_every == 0 or last:
                ckpts.save(state, position, cfg, model_config.name)
            if on_step is not None:
                on_step(step, state)
        bar.close()
    plot_losses(run_dir / "metrics.csv", run_dir / "loss.png")
    return TrainResult(state, runner.graphdef, position.step, run_dir, runner.compiles)

"""``TrainConfig``: every knob of a training run, frozen (the CLI parses into it once); ``DataSource``: one
dataset of it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

COMPUTE_DTYPES = ("float32", "bfloat16")


@dataclass(frozen=True)
class DataSource:
    """One dataset of a run: its directory, where its encoder outputs are cached, and at how many phases of
    the call interval its training windows are cut (its validation windows sit at the call times only)."""

    root: Path
    cache: Path
    phases: int = 1


@dataclass(frozen=True)
class TrainConfig:
    """A training run. ``steps`` counts optimizer updates; each consumes ``grad_accum`` micro-batches
    of ``batch`` samples (effective batch ``batch * grad_accum``)."""

    steps: int = 1000
    batch: int = 8  # micro-batch size (split over the 'data' mesh axis)
    grad_accum: int = 1  # micro-batches per optimizer update (optax.MultiSteps)
    lr: float = 1e-4  # peak learning rate
    warmup: int = 100  # linear warm-up steps from 0 to lr, then cosine decay to lr * final_lr_ratio
    final_lr_ratio: float = 0.1
    weight_decay: float = 1e-2  # AdamW, on arrays of ndim >= 2 only (not biases or norm scales)
    b1: float = 0.9
    b2: float = 0.999
    clip: float = 1.0  # global-norm gradient clipping (0 = off)
    ema: float = 0.0  # EMA decay of the parameters (0 = no EMA); with EMA the EMA weights are exported
    seed: int = 0  # data order, noise, timesteps, prompt dropout
    # training windows per call interval (samples.phase_offsets), one per dataset or one for all; validation keeps 1
    phases: tuple[int, ...] = (1,)
    action_weight: float = 1.0  # weight of the action loss against the video loss (upstream: 1)
    checkpoint_every: int = 100  # optimizer steps between orbax checkpoints (the last step is always saved)
    keep_checkpoints: int = 2
    eval_every: int = 100  # optimizer steps between validation passes (0 = only at the end)
    eval_batches: int = 4  # validation micro-batches per pass (fixed samples, fixed key)
    log_every: int = 1  # optimizer steps between metrics.csv rows
    compute_dtype: str = (
        "float32"  # "bfloat16": params and inputs cast for the forward; master weights float32
    )
    prompt_dropout: float = 0.1  # probability of the negative prompt; used only when the config has CFG
    data_parallel: int = 0  # devices on the 'data' mesh axis (0 = all devices)
    progress: bool = True  # tqdm progress bar

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.grad_accum < 1:
            raise ValueError("steps, batch and grad_accum must be >= 1")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.warmup <= self.steps:
            raise ValueError(f"warmup must be in [0, steps={self.steps}], got {self.warmup}")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"ema must be in [0, 1), got {self.ema}")
        if not 0.0 <= self.prompt_dropout <= 1.0:
            raise ValueError(f"prompt_dropout must be in [0, 1], got {self.prompt_dropout}")
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype must be one of {COMPUTE_DTYPES}, got {self.compute_dtype!r}")
        if not self.action_weight > 0:  # also rejects NaN
            raise ValueError(f"action_weight must be > 0, got {self.action_weight}")
        if not self.phases or min(self.phases) < 1:
            raise ValueError(f"phases must be >= 1, got {self.phases}")
        if self.checkpoint_every < 1:
            raise ValueError("checkpoint_every must be >= 1")

    def phases_for(self, datasets: int) -> tuple[int, ...]:
        """The phases of each of ``datasets`` datasets: one value each, or a single value for all."""
        if len(self.phases) == 1:
            return self.phases * datasets
        if len(self.phases) != datasets:
            raise ValueError(
                f"{len(self.phases)} phases for {datasets} datasets: give one, or one per dataset"
            )
        return self.phases

    @property
    def samples_per_step(self) -> int:
        return self.batch * self.grad_accum

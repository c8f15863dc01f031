"""orbax checkpoints of a run: ``<run>/checkpoints/<step>/{state,meta}``.

``state`` is the whole :class:`TrainState` (params, optimizer state, EMA); ``meta`` (JSON) holds the
optimizer step, the data-stream position and the configs. Saves are asynchronous and atomic (orbax
finalises a step directory only once it is complete), so a run killed mid-save resumes from the
previous checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

import jax
import orbax.checkpoint as ocp

from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.state import TrainState


class Position(NamedTuple):
    step: int  # optimizer steps done
    data_position: int  # samples consumed from the data stream


class Checkpoints:
    """A CheckpointManager over ``directory``; use as a context manager (closing waits for saves)."""

    def __init__(self, directory: Path, keep: int = 2):
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
        self.manager = ocp.CheckpointManager(Path(directory).absolute(), options=options)

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def latest_meta(self) -> dict | None:
        """The JSON metadata of the latest checkpoint (None when there is none)."""
        step = self.latest_step()
        if step is None:
            return None
        return dict(self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"])

    def save(self, state: TrainState, position: Position, cfg: TrainConfig, model_config: str) -> None:
        meta = {**position._asdict(), "model_config": model_config, "train_config": asdict(cfg)}
        self.manager.save(
            position.step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
        )

    def restore(self, template: TrainState, step: int | None = None) -> tuple[TrainState, Position, dict]:
        """(state shaped and placed like ``template``, position, meta) of ``step`` (default: latest)."""
        step = self.latest_step() if step is None else step
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        out = self.manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()),
        )
        meta = dict(out["meta"])
        return out["state"], Position(int(meta["step"]), int(meta["data_position"])), meta

"""The training loop on the tiny config: learning, bounded compiles, resume after an interruption."""

from __future__ import annotations

import jax
import numpy as np
import pandas as pd
import pytest
from flax import nnx

from dreamzero_jax.configs import get_config
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.train.config import TrainConfig
from dreamzero_jax.train.data import eval_key
from dreamzero_jax.train.loop import train
from dreamzero_jax.train.step import LossSpec, make_eval_step, split_model
from dreamzero_jax.train.synthetic import SyntheticSampleSet

TINY = get_config("tiny")


def _model(seed: int = 0) -> CausalWanDiT:
    return CausalWanDiT(TINY.dit, rngs=nnx.Rngs(seed))


def _eval_loss(params, graphdef, samples, dtype="float32") -> float:
    evaluate = make_eval_step(LossSpec(graphdef, TINY.dit, dtype))
    batch = samples.batch(np.arange(len(samples)))
    return float(evaluate(params, batch, samples.image_features, eval_key(0)).loss)


def test_few_steps_on_two_samples_cut_the_loss(tmp_path):
    samples = SyntheticSampleSet(TINY, 2, seed=1)
    model = _model()
    graphdef, params = split_model(model)
    before = _eval_loss(params, graphdef, samples)
    cfg = TrainConfig(steps=40, batch=2, lr=3e-3, warmup=4, checkpoint_every=40, eval_every=0, progress=False)
    zero_actions = lambda params, batch: np.zeros_like(batch.actions)  # noqa: E731
    result = train(model, TINY, cfg, samples, tmp_path, val_set=samples, eval_actions=zero_actions)
    after = _eval_loss(result.params, result.graphdef, samples)
    assert after < 0.6 * before, (before, after)
    assert dict(result.compiles) == {"train_step": 1, "eval_step": 1}  # static shapes: one compile each
    rows = pd.read_csv(tmp_path / "metrics.csv")
    assert rows["step"].tolist() == list(range(1, 41))
    assert rows["val_loss"].notna().sum() == 1  # validation only at the end with eval_every=0
    assert float(rows["val_loss"].iloc[-1]) == pytest.approx(after, rel=1e-5)
    assert (tmp_path / "loss.png").stat().st_size > 5000
    # open-loop action error of the plugged-in sampler: MSE of all-zero actions = mean squared label
    labels = samples.batch(np.arange(2)).actions
    assert float(rows["val_action_mse"].iloc[-1]) == pytest.approx(float(np.mean(labels**2)), rel=1e-5)


@pytest.mark.slow
def test_bfloat16_compute_keeps_float32_master_weights(tmp_path):
    samples = SyntheticSampleSet(TINY, 2, seed=1)
    graphdef, params = split_model(_model())
    f32 = _eval_loss(params, graphdef, samples)
    bf16 = _eval_loss(params, graphdef, samples, "bfloat16")
    assert bf16 != f32 and bf16 == pytest.approx(f32, rel=0.05)
    cfg = TrainConfig(steps=2, batch=2, warmup=0, compute_dtype="bfloat16", progress=False, eval_every=0)
    result = train(_model(), TINY, cfg, samples, tmp_path)
    assert {x.dtype for x in jax.tree.leaves(result.state.params)} == {np.dtype("float32")}
    changed = [
        not np.array_equal(a, b) for a, b in zip(_leaves(result.state.params), _leaves(params), strict=True)
    ]
    assert any(changed)


class Interrupted(Exception):
    pass


def _leaves(state) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(state)]


def test_resume_after_interruption_equals_uninterrupted_run(tmp_path):
    # 3 samples in batches of 2 (epochs straddle batches), 2 micro-batches per step, EMA: every piece
    # of run state (data position, accumulator, EMA, Adam moments, schedule count) must be restored
    samples = SyntheticSampleSet(TINY, 3, seed=2)
    cfg = TrainConfig(
        steps=6, batch=2, grad_accum=2, lr=1e-3, warmup=2, ema=0.5, checkpoint_every=2, progress=False
    )
    full = train(_model(), TINY, cfg, samples, tmp_path / "full", val_set=samples)

    def die_after_5(step, state):
        if step == 5:  # step 5 is done but not checkpointed: the resumed run must redo it
            raise Interrupted

    with pytest.raises(Interrupted):
        train(_model(), TINY, cfg, samples, tmp_path / "cut", val_set=samples, on_step=die_after_5)
    seen = []
    resumed = train(
        _model(seed=9),  # other initial weights: the checkpoint must replace them
        TINY,
        cfg,
        samples,
        tmp_path / "cut",
        val_set=samples,
        resume=True,
        on_step=lambda step, state: seen.append(step),
    )
    assert seen == [5, 6]
    assert (
        resumed.params is resumed.state.ema
    )  # with EMA, the EMA weights are the ones exported  # steps 1-4 came from the checkpoint, not redone
    for a, b in zip(_leaves(full.state), _leaves(resumed.state), strict=True):
        assert np.array_equal(a, b)  # bitwise on CPU
    assert full.state.ema is not None and not np.array_equal(
        _leaves(full.state.ema)[0], _leaves(full.state.params)[0]
    )
    rows = pd.read_csv(tmp_path / "cut" / "metrics.csv")
    assert rows["step"].tolist() == [1, 2, 3, 4, 5, 6]  # the interrupted run's step-5 row was dropped
    full_rows = pd.read_csv(tmp_path / "full" / "metrics.csv")
    np.testing.assert_array_equal(rows["loss"], full_rows["loss"])

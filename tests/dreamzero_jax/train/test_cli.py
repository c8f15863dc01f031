"""``python -m dreamzero_jax.train``: bad input gets one line and exit 2; a run writes metrics, plot, export."""

from __future__ import annotations

import dataclasses
import types

import jax
import numpy as np
import pandas as pd
import pytest
from flax import nnx

from dreamzero_jax.checkpoint.orbax_io import save_state
from dreamzero_jax.configs import get_config
from dreamzero_jax.models.dit import CausalWanDiT
from dreamzero_jax.normalization import default_stats
from dreamzero_jax.train.__main__ import main
from dreamzero_jax.train.config import DataSource
from dreamzero_jax.train.init import build_dit
from dreamzero_jax.train.synthetic import SyntheticSampleSet


@pytest.fixture
def fakes(monkeypatch):
    """Stand-ins for the sample preparation (dataset + encoders) and the policy exporter."""
    import dreamzero_jax.train.export as export
    import dreamzero_jax.train.prepare as prepare

    calls = {"build": [], "export": []}
    encoders = types.SimpleNamespace(
        vae=None, t5=None, clip=None, image_features=np.ones((1, 257, 1280), np.float32)
    )

    def prepare_samples(config, sources, init, seed):
        calls["build"].append((config.name, tuple(sources), init, seed))
        if (sources[0].root / "broken").exists():
            raise ValueError("episode 3: 'action' has NaN values\nmore detail")
        train = SyntheticSampleSet(config, 3, seed=0)
        return prepare.PreparedSamples(
            train, SyntheticSampleSet(config, 2, seed=1), encoders, default_stats(), config
        )

    def export_policy(out_dir, config, states, stats, **kwargs):
        calls["export"].append((out_dir, config.name, states["dit"], kwargs))

    monkeypatch.setattr(prepare, "prepare_samples", prepare_samples)
    monkeypatch.setattr(export, "export_policy", export_policy)
    return calls


def _fails(capsys, argv, match):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    assert match in err, err


def test_bad_inputs_one_line_exit_2(tmp_path, capsys, fakes):
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    base = ["--config", "tiny", "--data", str(data), "--out", str(out)]
    _fails(capsys, ["--config", "nope", "--data", str(data), "--out", str(out)], "unknown config 'nope'")
    _fails(capsys, ["--config", "tiny", "--data", str(tmp_path / "missing"), "--out", str(out)], "--data")
    _fails(capsys, [*base, "--steps", "0"], "steps")
    _fails(capsys, [*base, "--resume", "--overwrite"], "exclude")
    _fails(capsys, [*base, "--init", str(tmp_path / "nothing")], "--init")
    (data / "broken").touch()
    _fails(capsys, base, "NaN values")
    (data / "broken").unlink()
    out.mkdir()
    (out / "keep.txt").write_text("earlier run")
    _fails(capsys, base, "--resume")
    assert (out / "keep.txt").read_text() == "earlier run"  # untouched
    assert fakes["export"] == []


def test_several_datasets_get_their_own_caches_and_phases(tmp_path, capsys, fakes):
    demos, dagger, out = tmp_path / "demos", tmp_path / "dagger", tmp_path / "out"
    demos.mkdir()
    dagger.mkdir()
    base = ["--config", "tiny", "--data", str(demos), str(dagger), "--out", str(out), "--no-progress"]
    _fails(capsys, [*base, "--phases", "4", "1", "2"], "3 phases for 2 datasets")
    _fails(capsys, [*base, "--cache", str(tmp_path / "c")], "--cache takes a single --data")
    _fails(capsys, [*base[:4], str(tmp_path / "missing"), *base[5:]], f"--data {tmp_path / 'missing'}")
    assert fakes["build"] == []
    assert main([*base, "--steps", "1", "--batch", "2", "--warmup", "0", "--phases", "4", "1"]) == 0
    sources = (DataSource(demos, demos / "cache", 4), DataSource(dagger, dagger / "cache", 1))
    assert fakes["build"] == [("tiny", sources, None, 0)]
    assert main([*base, "--steps", "1", "--batch", "2", "--warmup", "0", "--phases", "2", "--overwrite"]) == 0
    assert [s.phases for s in fakes["build"][-1][1]] == [2, 2]  # one value: every dataset


def test_init_from_checkpoint_of_another_config(tmp_path, capsys, fakes):
    tiny = get_config("tiny")
    other = dataclasses.replace(tiny.dit, dim=32, ffn_dim=80, num_heads=2)
    save_state(tmp_path / "other" / "dit", nnx.state(CausalWanDiT(other, rngs=nnx.Rngs(0)), nnx.Param))
    (tmp_path / "data").mkdir()
    argv = ["--config", "tiny", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")]
    _fails(capsys, [*argv, "--init", str(tmp_path / "other")], "does not match config 'tiny'")
    # a checkpoint of the right config is loaded (fine-tuning starts from its weights)
    source = nnx.state(CausalWanDiT(tiny.dit, rngs=nnx.Rngs(5)), nnx.Param)
    save_state(tmp_path / "same" / "dit", source)
    loaded = nnx.state(build_dit(tiny, seed=0, init=tmp_path / "same"), nnx.Param)
    for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(source), strict=True):
        assert np.array_equal(a, b)


def test_run_writes_metrics_plot_and_exports_ema(tmp_path, capsys, fakes):
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    argv = ["--config", "tiny", "--data", str(data), "--out", str(out), "--steps", "3", "--batch", "2"]
    argv += ["--ema", "0.5", "--warmup", "1", "--eval-every", "2", "--no-progress"]
    assert main(argv) == 0
    rows = pd.read_csv(out / "train" / "metrics.csv")
    assert rows["step"].tolist() == [1, 2, 3]
    for column in ("loss", "video_loss", "action_loss", "lr", "grad_norm", "steps_per_s", "samples_per_s"):
        assert rows[column].notna().all(), column
    assert rows["val_loss"].notna().tolist() == [False, True, True]
    assert (out / "train" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert fakes["build"] == [("tiny", (DataSource(data, data / "cache", 1),), None, 0)]
    ((export_dir, name, params, kwargs),) = fakes["export"]
    assert export_dir == out and name == "tiny"
    assert kwargs["image_features"].shape == (1, 257, 1280)
    from dreamzero_jax.train.checkpointing import Checkpoints

    with Checkpoints(out / "train" / "checkpoints") as ckpts:
        assert ckpts.latest_step() == 3 and ckpts.latest_meta()["data_position"] == 6
    # a second run into the same directory is refused; --resume at the last step just re-exports
    _fails(capsys, argv, "exists")
    assert main([*argv, "--resume"]) == 0
    assert len(fakes["export"]) == 2
    for a, b in zip(jax.tree.leaves(fakes["export"][1][2]), jax.tree.leaves(params), strict=True):
        assert np.array_equal(a, b)

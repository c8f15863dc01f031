"""`python -m dreamzero_jax.convert` on the fixture weights: dry run, real conversion, usage errors."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import jax
import numpy as np
import pytest
from flax import nnx
from safetensors.numpy import load_file

from dreamzero_jax.checkpoint.models import abstract_model
from dreamzero_jax.checkpoint.orbax_io import restore_state
from dreamzero_jax.configs import get_config
from dreamzero_jax.convert.__main__ import main
from dreamzero_jax.convert.apply import expected_checkpoint_shapes, plan


def test_dry_run_of_fixture_dit_weights_is_clean(fixtures_dir, capsys):
    rc = main(
        ["--input", str(fixtures_dir / "dreamzero_tiny/weights.safetensors"), "--config", "tiny", "--dry-run"]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "dit: mapped=101 missing=0 unexpected=0 mismatched=0" in out


def test_dry_run_of_the_encoder_fixture_directory_routes_each_file(fixtures_dir, capsys):
    rc = main(["--input", str(fixtures_dir / "dreamzero_tiny_encoders"), "--config", "tiny", "--dry-run"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "vae: mapped=194 missing=0 unexpected=0" in out and "t5: mapped=22 missing=0 unexpected=0" in out
    assert "clip: mapped=41 missing=0 unexpected=0 mismatched=0 duplicates=0 ignored=4" in out


def test_dry_run_against_the_wrong_config_fails(fixtures_dir, capsys):
    rc = main(
        [
            "--input",
            str(fixtures_dir / "dreamzero_tiny/weights.safetensors"),
            "--config",
            "bench",
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 1 and "FAIL  dit" in out and "shape" in out


def test_convert_writes_orbax_that_restores_the_transformed_weights(fixtures_dir, tmp_path, capsys):
    src = fixtures_dir / "dreamzero_tiny/weights.safetensors"
    rc = main(
        ["--input", str(src), "--config", "tiny", "--output", str(tmp_path / "out"), "--components", "dit"]
    )
    assert rc == 0, capsys.readouterr().out
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["components"]["dit"]["tensors"] == 101
    abstract = nnx.state(abstract_model("dit", get_config("tiny").dit), nnx.Param)
    state = restore_state(tmp_path / "out/dit", abstract)
    torch = load_file(str(src))
    flat = {".".join(map(str, p)): v for p, v in nnx.to_flat_state(state)}
    np.testing.assert_array_equal(
        flat["blocks.1.self_attn.q.kernel"][...], torch["blocks.1.self_attn.q.weight"].T
    )
    np.testing.assert_array_equal(flat["action_encoder.W2.W"][...], torch["action_encoder.W2.W"])
    assert len(jax.tree.leaves(state)) == 101


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--input", "/no/such/file.safetensors", "--dry-run"], "no such file"),
        (["--input", "{fx}", "--config", "huge", "--dry-run"], "unknown --config 'huge'"),
        (["--input", "{fx}", "--components", "dit,llm", "--dry-run"], "unknown component 'llm'"),
        (
            ["--input", "{fx}", "--config", "small", "--components", "clip", "--dry-run"],
            "config 'small' has no 'clip' component; it has dit, vae, t5",
        ),
        (["--input", "{fx}"], "--output is required"),
    ],
)
def test_usage_errors_exit_2_with_one_line(fixtures_dir, capsys, argv, message):
    fx = str(fixtures_dir / "dreamzero_tiny/weights.safetensors")
    assert main([a.replace("{fx}", fx) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.parametrize("component", ["dit", "vae", "t5", "clip"])
def test_droid_14b_checkpoint_table_round_trips_through_the_abstract_model(component):
    """The name/shape table the rules imply for droid_14b maps back with nothing missing or mis-shaped."""
    model = abstract_model(component, get_config("droid_14b").component(component))
    table = expected_checkpoint_shapes(component, model)
    _, report = plan(table, component, model)
    assert report.ok, report.problem_lines(5)
    if component == "dit":
        assert table["blocks.39.ffn.0.weight"] == (13824, 5120)
        assert table["patch_embedding.weight"] == (5120, 36, 1, 2, 2)


def write_sparse_checkpoint(path: Path, shapes: dict[str, tuple[int, ...]], prefix: str = "") -> None:
    """A valid bf16 safetensors file of the given shapes whose data is a hole (sparse file, ~no disk).

    Headers are all a dry run reads, so a full-size droid_14b checkpoint can be checked end to end.
    """
    header, offset = {}, 0
    for name, shape in shapes.items():
        size = math.prod(shape) * 2
        header[prefix + name] = {
            "dtype": "BF16",
            "shape": list(shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        f.truncate(8 + len(raw) + offset)


@pytest.mark.slow
def test_cli_dry_run_of_a_full_size_droid_14b_checkpoint(tmp_path, capsys):
    table = expected_checkpoint_shapes("dit", abstract_model("dit", get_config("droid_14b").dit))
    write_sparse_checkpoint(tmp_path / "model.safetensors", table, prefix="action_head.model.")
    assert main(["--input", str(tmp_path), "--config", "droid_14b", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert (
        "dit: mapped=1317 missing=0 unexpected=0 mismatched=0" in out and "model_params=16,484,292,448" in out
    )

    del table["blocks.7.ffn.2.bias"]
    table["head.head.weight"] = (32, 5120)
    write_sparse_checkpoint(tmp_path / "model.safetensors", table, prefix="action_head.model.")
    assert main(["--input", str(tmp_path), "--config", "droid_14b", "--dry-run"]) == 1
    out = capsys.readouterr().out
    assert "missing blocks.7.ffn.fc2.bias" in out and "shape head.head.weight -> head.head.kernel" in out


def test_convert_writes_the_training_export_layout_config_and_stats(fixtures_dir, tmp_path, capsys):
    """Converted and trained checkpoints share one layout: the policy reads the config and statistics."""
    from dreamzero_jax.checkpoint import read_model_config
    from dreamzero_jax.normalization import MinMax, NormStats

    stats = NormStats(MinMax(np.zeros(8), np.ones(8)), MinMax(-np.arange(1, 9.0), np.arange(1, 9.0)))
    stats.save(tmp_path / "stats.json")
    out = tmp_path / "out"
    argv = ["--config", "tiny", "--output", str(out), "--stats", str(tmp_path / "stats.json")]
    assert main(["--input", str(fixtures_dir / "dreamzero_tiny/weights.safetensors"), *argv]) == 0
    first = capsys.readouterr().out
    assert "missing: vae, t5, clip" in first  # a DiT-only run says what the policy still lacks
    assert main(["--input", str(fixtures_dir / "dreamzero_tiny_encoders"), *argv]) == 0
    assert "not yet a complete" not in capsys.readouterr().out
    assert read_model_config(out) == get_config("tiny")
    loaded = NormStats.load(out)
    np.testing.assert_array_equal(loaded.action.low, stats.action.low)
    np.testing.assert_array_equal(loaded.state.high, stats.state.high)
    assert {p.name for p in out.iterdir()} >= {
        "model_config.json",
        "normalization.json",
        "dit",
        "vae",
        "t5",
        "clip",
    }


def test_convert_without_stats_notes_the_missing_statistics(fixtures_dir, tmp_path, capsys):
    src = fixtures_dir / "dreamzero_tiny/weights.safetensors"
    argv = ["--input", str(src), "--config", "tiny", "--output", str(tmp_path / "o"), "--components", "dit"]
    assert main(argv) == 0
    assert "normalization.json (pass --stats)" in capsys.readouterr().out
    assert main([*argv, "--stats", str(tmp_path / "none.json")]) == 2
    assert "--stats" in capsys.readouterr().err

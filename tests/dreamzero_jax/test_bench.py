"""Smoke test of the inference benchmark's code path on the tiny config (not a timing test)."""

from __future__ import annotations

import csv

import pytest

from dreamzero_jax.bench import EXIT_USAGE, MODES, kv_cache_bytes, main
from dreamzero_jax.configs import get_config


def test_usage_errors_exit_2(capsys):
    assert main(["--config", "enormous"]) == EXIT_USAGE
    assert "valid:" in capsys.readouterr().err
    assert main(["--config", "tiny", "--chunks", "1"]) == EXIT_USAGE


def test_kv_cache_bytes_by_shape_arithmetic():
    # tiny: 2 (k, v) x 2 layers x 2 branches x 120 tokens x 2 heads x 32 dims x 4 bytes
    assert kv_cache_bytes(get_config("tiny").dit, 2, 4) == 2 * 2 * 2 * 120 * 2 * 32 * 4
    # droid_14b per branch in bf16: 40 layers, 9 frames x 880 tokens, 5120 wide
    assert kv_cache_bytes(get_config("droid_14b").dit, 1, 2) == 2 * 40 * 9 * 880 * 5120 * 2


@pytest.mark.slow
def test_bench_runs_and_writes_csv_and_summary(tmp_path, capsys):
    out = tmp_path / "inference.csv"
    assert main(["--config", "tiny", "--chunks", "2", "--repeats", "1", "--out", str(out)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("summary: kv_flatness=") and last.endswith("new_compiles=0")
    rows = list(csv.DictReader(out.open()))
    chunk_rows = [r for r in rows if r["chunk"]]
    assert len(chunk_rows) == 2 * len(MODES)
    passes = {r["mode"]: int(r["dit_passes"]) for r in chunk_rows if r["chunk"] == "1"}
    assert passes["kv_off"] == 16 and passes["kv_static"] == 8 and passes["recompute"] == 8


def test_batch_sizes_must_be_powers_of_two(capsys):
    assert main(["--config", "tiny", "--batch", "1,3"]) == EXIT_USAGE
    assert "powers of two" in capsys.readouterr().err
    assert main(["--config", "tiny", "--batch", "two"]) == EXIT_USAGE


@pytest.mark.slow
def test_batch_bench_prints_throughput_per_batch_and_summary(capsys):
    assert main(["--config", "tiny", "--batch", "1,2", "--chunks", "2", "--repeats", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("summary: batch2_over_batch1=") and lines[-1].endswith("new_compiles=0")
    rows = [line.split("|") for line in lines if line.strip()[:1].isdigit()]
    assert [int(r[0]) for r in rows] == [1, 2] and [int(r[1]) for r in rows] == [2, 4]  # CFG: 2 rows each

"""`python -m dreamzero_jax.parity`: per-result lines, unhandled fixtures, exit codes, module coverage."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from dreamzero_jax.parity import __main__ as cli
from dreamzero_jax.parity.core import compare


def _module(name: str, results, handles=(), error: Exception | None = None) -> types.ModuleType:
    mod = types.ModuleType(f"dreamzero_jax.parity.{name}")

    def checks(fixture_dir: Path):
        yield from results
        if error:
            raise error

    mod.checks, mod.HANDLES = checks, handles
    return mod


@pytest.fixture
def fixture_dir(tmp_path):
    for name in ("a.npz", "shared.npz", "t5_io.npz", "forward_train.npz"):
        np.savez(tmp_path / name, x=np.zeros(1))
    (tmp_path / "README.md").write_text("docs are not fixtures")
    return tmp_path


def test_results_and_unhandled_files_are_listed(fixture_dir, capsys):
    mods = [
        _module("checks_a", [compare("a.x", [1.0], [1.0])], handles=("a.npz", "shared.npz:part one")),
        _module("checks_t5", [compare("t5.hidden", [1.0], [1.0 + 1e-6])], handles=("t5_io.npz",)),
        _module("checks_idle", [], handles=("forward_train.npz",)),  # yields nothing here: claims nothing
    ]
    assert cli.run([fixture_dir], mods) == 0
    out = capsys.readouterr().out
    assert "PASS  a.x" in out and "PASS  t5.hidden" in out and "2 results, all passed" in out
    unhandled = [line for line in out.splitlines() if line.startswith("not handled")]
    assert unhandled == ["not handled: forward_train.npz — no check module recognises it here"]
    assert "checked in parts: shared.npz — part one by checks_a" in out


def test_a_failing_result_or_a_raising_check_exits_1(fixture_dir, capsys):
    assert cli.run([fixture_dir], [_module("checks_a", [compare("a.x", [1.0], [2.0])])]) == 1
    assert "FAIL  a.x" in capsys.readouterr().out
    boom = _module("checks_b", [compare("b.x", [1.0], [1.0])], error=RuntimeError("model exploded"))
    ok = _module("checks_c", [compare("c.x", [1.0], [1.0])])
    assert cli.run([fixture_dir], [boom, ok]) == 1
    out = capsys.readouterr().out
    # a raising module does not hide the results of the others
    assert "ERROR checks_b: RuntimeError: model exploded" in out and "PASS  c.x" in out


def test_missing_directory_is_a_usage_error(tmp_path, capsys):
    assert cli.main(["--fixtures", str(tmp_path / "absent")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("subdir", ["dreamzero_tiny", "dreamzero_tiny_encoders"])
def test_every_shipped_fixture_file_is_claimed_by_a_check_module(fixtures_dir, subdir):
    lines = cli.coverage(fixtures_dir / subdir, cli.CHECK_MODULES)
    assert not [line for line in lines if line.startswith("not handled")], lines


def test_the_scheduler_checks_run_from_the_module_list(fixtures_dir, tmp_path, capsys):
    (tmp_path / "scheduler_unipc.npz").symlink_to(fixtures_dir / "dreamzero_tiny/scheduler_unipc.npz")
    cli.run([tmp_path])  # the other modules recognise nothing here
    out = capsys.readouterr().out
    assert "PASS  scheduler_unipc.video_prev_samples" in out
    assert "not handled: scheduler_unipc.npz" not in out


@pytest.mark.slow
def test_full_parity_run_on_the_tiny_fixtures(fixtures_dir, capsys):
    rc = cli.main(
        ["--fixtures", str(fixtures_dir / "dreamzero_tiny"), str(fixtures_dir / "dreamzero_tiny_encoders")]
    )
    out = capsys.readouterr().out
    assert rc == 0, out

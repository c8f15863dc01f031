"""A non-editable install (a wheel) can validate and list a suite from another directory: the suite schema
ships as package data instead of being read from the source checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "dreamzero_jax", "envs", "evals")


def _run(cmd: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def test_wheel_install_lists_the_smoke_suite_from_another_directory(tmp_path):
    # Build from a copy, so the checkout gets no build/ or egg-info and nothing outside SOURCES can leak in.
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), "."], src)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    target = tmp_path / "site"
    _run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], src
    )
    shutil.rmtree(src)  # nothing may be read from the sources now

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = _run([sys.executable, "-c", "import evals.runner.suite as m; print(m.__file__)"], elsewhere, env)
    assert Path(where.stdout.strip()).is_relative_to(target)  # the installed copy, not the checkout
    smoke = REPO / "test_cases" / "smoke.json"
    listed = _run([sys.executable, "-m", "evals.run", "--suite", str(smoke), "--list"], elsewhere, env)
    lines = listed.stdout.splitlines()
    assert lines[0] == f"{len(lines) - 1} episodes" and len(lines) > 1
    assert lines[1].startswith("lift-panda\tseed=0\t")

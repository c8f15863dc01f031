"""Provenance recorded in run.json: package versions, git commit, host, task fingerprints, timestamps."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from evals.runner.backend import EnvBackend

REPO = Path(__file__).resolve().parents[2]
KEY_PACKAGES = (
    "dreamzero-jax-sim-eval",
    "numpy",
    "jax",
    "jaxlib",
    "flax",
    "mujoco",
    "robosuite",
    "gymnasium",
    "pandas",
    "pyarrow",
    "imageio",
    "imageio-ffmpeg",
    "pillow",
)


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_commit() -> str | None:
    """HEAD of the checkout the runner is imported from; reads .git/HEAD when git is unavailable."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        pass
    head = REPO / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref: "):
            return (REPO / ".git" / ref[5:]).read_text().strip()
        return ref
    except OSError:
        return None


def host_info() -> dict[str, Any]:
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "mujoco_gl": os.environ.get("MUJOCO_GL"),
    }


def task_fingerprints(backend: EnvBackend, tasks: list[str]) -> dict[str, str | None]:
    return {task: backend.task_info(task).get("fingerprint") for task in sorted(set(tasks))}

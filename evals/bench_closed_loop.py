"""Closed-loop speed on one machine: rendering on demand, and a fresh DreamZero process with a warm cache.

    python -m evals.bench_closed_loop                      # both parts (about 2 min on 2 CPU cores)
    python -m evals.bench_closed_loop --steps 100 --repeats 2 --skip-dreamzero

(a) A camera policy (`CameraStandIn`: asks for the three DROID cameras, returns 8-action chunks at once,
open-loop horizon 8, no video) runs one fixed 300-step Lift episode (panda, 180x320 views) through the
runner's episode loop, rendering every step (as before) and on demand; the runs alternate `--repeats` times
and each side's median wall time is compared.
(b) A fresh process builds the default `dreamzero` policy (the shipped checkpoint) and calls it twice on a
fixed DROID observation, first with an empty (cold) compile cache directory, then with the same (warm)
directory; the time is from just before the process starts to its second output (`--repeats` pairs, median).

The last line is machine-readable:
    summary: render_on_demand_speedup=<every/on-demand> warm_cache_first_call_ratio=<cold/warm>

Exit codes: 0 ok, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evals.contract.policy import PolicyMetadata
from evals.runner.backend import default_backend
from evals.runner.env_cache import EnvCache
from evals.runner.episode import run_episode
from evals.runner.spec import EpisodeSpec

DROID_CAMERAS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
IMAGE_SIZE = (180, 320)


class CameraStandIn:
    """A cheap camera policy: reads the three views (their means), returns 8 joint targets swinging about the
    current joints (gripper open). Deterministic; costs well under a millisecond per call."""

    metadata = PolicyMetadata(
        name="camera_stand_in", action_space="joint_position", action_dim=8, cameras=DROID_CAMERAS
    )

    def __init__(self) -> None:
        self.calls = 0

    def reset(self, instruction: str) -> None:
        self.calls = 0

    def infer(self, obs: dict[str, Any]) -> dict[str, Any]:
        brightness = sum(float(np.mean(obs[c])) for c in DROID_CAMERAS) / (3 * 255.0)
        q = np.asarray(obs["joint_position"], np.float32).reshape(-1)
        t = self.calls * 8 + np.arange(8)[:, None]
        swing = 0.05 * np.sin(2 * np.pi * t / 40.0 + np.arange(7)[None, :]) * (1.0 + 0.01 * brightness)
        self.calls += 1
        return {"actions": np.concatenate([q[None, :] + swing, np.zeros((8, 1))], axis=1).astype(np.float32)}


class CameraStandInFactory:
    """The runner's policy-factory protocol around :class:`CameraStandIn`."""

    def for_episode(self, env: Any, *, seed: int, episode_key: dict) -> CameraStandIn:
        return CameraStandIn()

    def describe(self) -> dict:
        return {"name": "camera_stand_in", "spec": "camera_stand_in", "checkpoint": None, "options": {}}

    def close(self) -> None:
        pass


def episode_spec(steps: int, task: str = "Lift", image_size: tuple[int, int] = IMAGE_SIZE) -> EpisodeSpec:
    """The fixed benchmark episode: `task` on panda, seed 0, the three DROID cameras, open-loop horizon 8."""
    return EpisodeSpec(
        suite_name="bench",
        suite_version="1",
        case_index=0,
        case_id=f"bench-{task.lower()}",
        task=task,
        embodiment="panda",
        instruction="lift the cube",
        seed=0,
        horizon=steps,
        open_loop_horizon=8,
        action_space="joint_position",
        cameras=DROID_CAMERAS,
        image_size=image_size,
        control_freq=15,
        stop_on_success=False,
    )


def time_render_modes(steps: int, repeats: int) -> dict[str, list[float]]:
    """Wall seconds of the episode per repeat, rendering every step and on demand (alternating order)."""
    spec, cache = episode_spec(steps), EnvCache(default_backend())
    factory = CameraStandInFactory()
    run_episode(spec, factory, record_video=False, env_cache=cache)  # builds the env outside the timing
    times: dict[str, list[float]] = {"every step": [], "on demand": []}
    try:
        for r in range(repeats):
            for mode in ("every step", "on demand") if r % 2 == 0 else ("on demand", "every step"):
                t0 = time.perf_counter()
                result = run_episode(
                    spec, factory, record_video=False, render_on_demand=mode == "on demand", env_cache=cache
                )
                times[mode].append(time.perf_counter() - t0)
                if result.row["error"]:
                    raise RuntimeError(f"benchmark episode failed: {result.row['error']}")
    finally:
        cache.close()
    return times


def _dreamzero_child() -> int:
    """Child process: build the default dreamzero policy, call it twice, print the wall time of each output."""
    from evals.policies.dreamzero import build_model, default_checkpoint

    model = build_model(config_name=None, checkpoint=default_checkpoint(), seed=0)
    rng = np.random.default_rng(0)
    obs: dict[str, Any] = {c: rng.integers(0, 256, (*IMAGE_SIZE, 3), dtype=np.uint8) for c in DROID_CAMERAS}
    obs |= {"joint_position": np.zeros(7, np.float32), "gripper_position": np.zeros(1, np.float32)}
    model.reset("lift the cube", seed=0)
    stamps = []
    for _ in range(2):
        model.infer({**obs, "prompt": "lift the cube"})
        stamps.append(time.time())
    print(json.dumps({"outputs": stamps}))
    return 0


def time_fresh_dreamzero(cache_dir: Path) -> float:
    """Seconds from starting a fresh process (compile cache in `cache_dir`) to its second policy output."""
    env = {**os.environ, "DZ_JAX_CACHE": str(cache_dir)}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-m", "evals.bench_closed_loop", "--dreamzero-child"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["outputs"][1] - start


def time_cache_modes(repeats: int) -> dict[str, list[float]]:
    """Cold (empty cache directory) then warm (the same directory) fresh-process times, `repeats` pairs."""
    times: dict[str, list[float]] = {"cold cache": [], "warm cache": []}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="dz_bench_cache_") as tmp:
            times["cold cache"].append(time_fresh_dreamzero(Path(tmp)))
            times["warm cache"].append(time_fresh_dreamzero(Path(tmp)))
    return times


def _print_rows(what: str, times: dict[str, list[float]]) -> None:
    for mode, values in times.items():
        spread = f"{min(values):.1f}-{max(values):.1f}"
        print(f"{what:<40}{mode:<12}{statistics.median(values):>10.2f}{spread:>14}{len(values):>4}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.bench_closed_loop",
        description="Closed-loop speed: rendering on demand vs every step; dreamzero start, cold vs warm "
        "compile cache.",
    )
    p.add_argument("--steps", type=int, default=300, help="control steps of the camera episode (default 300)")
    p.add_argument("--repeats", type=int, default=1, help="repeats of each measurement (default 1)")
    p.add_argument("--skip-dreamzero", action="store_true", help="only the rendering part")
    p.add_argument("--dreamzero-child", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.dreamzero_child:
        return _dreamzero_child()
    if args.steps < 1 or args.repeats < 1:
        print("error: --steps and --repeats must be >= 1", file=sys.stderr)
        return 2
    print(f"{'measurement':<40}{'mode':<12}{'median s':>10}{'min-max s':>14}{'n':>4}")
    render = time_render_modes(args.steps, args.repeats)
    _print_rows(f"camera policy, {args.steps}-step episode", render)
    speedup = statistics.median(render["every step"]) / statistics.median(render["on demand"])
    ratio = float("nan")
    if not args.skip_dreamzero:
        cache = time_cache_modes(args.repeats)
        _print_rows("dreamzero: process start to output 2", cache)
        ratio = statistics.median(cache["cold cache"]) / statistics.median(cache["warm cache"])
    print(f"summary: render_on_demand_speedup={speedup:.2f} warm_cache_first_call_ratio={ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wrapper-overhead benchmark: our Gymnasium env vs. the raw robosuite env underneath, same task, same run.

    python -m envs.bench                       # every task, panda, 100 steps x 6 repeats
    python -m envs.bench --tasks StackCubes,OpenDrawer --steps 50 --embodiment iiwa

For each task it times `env.step` (validation, controller, physics, success/progress, observation assembly) and
the raw robosuite loop on the very same underlying env (`env.unwrapped.scene.step` with the equivalent robosuite
action), with cameras off and with the three DROID cameras at 180x320. For the raw camera case the cameras are
rendered the way robosuite's camera observables do it (`sim.render` on robosuite's offscreen context, flipped).
Both loops replay the same joint-position action sequence from the same reset state, after one untimed chunk
each. They are interleaved in `--repeats` pairs of chunks (alternating which goes first, since the first of a
pair runs slower whichever it is); each pair gives one ratio = our CPU time / raw CPU time (this process, all
threads), which other processes' load on a shared machine barely disturbs, unlike wall-clock ratios. A row
shows the median of its pairs' ratios and their min-max spread; steps/s are wall-clock medians.

The last line is machine-readable:
    summary: wrapper_overhead=<median over tasks of the no-camera ratio> worst=<largest no-camera ratio>
    spread=<median over tasks of the max-min of the no-camera pair ratios> steps_per_s_nocam=<median over tasks>
    steps_per_s_cams=<median over tasks>

Exit codes: 0 ok, 2 usage error (unknown task/embodiment, bad numbers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import envs
from envs.cameras import DROID_CAMERAS, mujoco_camera_name

IMAGE_SIZE = (180, 320)


def action_sequence(q0: np.ndarray, lo: np.ndarray, hi: np.ndarray, steps: int) -> np.ndarray:
    """(steps, 8) float32 joint-position actions: each joint swings gently about its start; the gripper toggles."""
    t = np.arange(steps)[:, None]
    phase = np.arange(q0.shape[0])[None, :]
    q = np.clip(q0[None, :] + 0.15 * np.sin(2 * np.pi * t / 30.0 + phase), lo, hi)
    grip = ((np.arange(steps) // 20) % 2).astype(np.float64)[:, None]
    return np.concatenate([q, grip], axis=1).astype(np.float32)


def to_raw(actions: np.ndarray) -> np.ndarray:
    """The robosuite actions equivalent to our joint-position actions (gripper [0, 1] -> [-1, 1])."""
    raw = actions.astype(np.float64)
    raw[:, -1] = 2.0 * raw[:, -1] - 1.0
    return raw


def _clock() -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process, all threads: includes Mesa's software-rendering threads)."""
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _time_ours(env, actions) -> tuple[float, float]:
    env.reset(seed=0)
    start = _clock()
    for a in actions:
        env.step(a)
    return _since(start)


def _time_raw(env, raw_actions, cameras: tuple[str, ...]) -> tuple[float, float]:
    env.reset(seed=0)  # same start state as ours; the timed loop below touches only robosuite
    scene = env.unwrapped.scene
    names = [mujoco_camera_name(c) for c in cameras]
    h, w = IMAGE_SIZE
    start = _clock()
    for a in raw_actions:
        scene.step(a)
        for name in names:
            scene.sim.render(width=w, height=h, camera_name=name)[::-1]
    return _since(start)


def measure(task: str, embodiment: str, cameras: tuple[str, ...], steps: int, repeats: int) -> dict:
    """Median wall-clock steps/s of ours and raw on one task, and the median, min and max of the per-pair
    CPU-time ratios ours/raw over `repeats` interleaved pairs. Both loops share one env instance."""
    env = envs.make(task, embodiment, cameras=cameras, image_size=IMAGE_SIZE)
    try:
        if cameras:
            # robosuite's own offscreen context (what its camera observables render with) for the raw loop.
            from robosuite.utils.binding_utils import MjRenderContextOffscreen

            MjRenderContextOffscreen(env.unwrapped.scene.sim, device_id=-1)
        env.reset(seed=0)
        state = env.unwrapped.sim_state()
        lo, hi = (np.asarray(x, np.float64) for x in env.unwrapped.spec_info["joint_limits"])
        actions = action_sequence(state["arm_qpos"], lo, hi, steps)
        raw_actions = to_raw(actions)
        _time_ours(env, actions)  # warm-up: first-touch allocations and caches, for both loops
        _time_raw(env, raw_actions, cameras)
        ours, raw = [], []
        for r in range(repeats):
            if r % 2 == 0:
                ours.append(_time_ours(env, actions))
                raw.append(_time_raw(env, raw_actions, cameras))
            else:
                raw.append(_time_raw(env, raw_actions, cameras))
                ours.append(_time_ours(env, actions))
    finally:
        env.close()
    ratios = [o[1] / r[1] for o, r in zip(ours, raw, strict=True)]
    return {
        "ours_sps": steps / statistics.median(w for w, _ in ours),
        "raw_sps": steps / statistics.median(w for w, _ in raw),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
    }


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m envs.bench",
        description="Steps/s of our envs vs. raw robosuite on the same task, with cameras off and on.",
    )
    p.add_argument("--tasks", default="", help="comma-separated task names (default: every registered task)")
    p.add_argument("--steps", type=int, default=100, help="control steps per timed chunk (default 100)")
    p.add_argument(
        "--repeats", type=int, default=6, help="interleaved pairs of chunks, one ratio each (default 6)"
    )
    p.add_argument("--embodiment", default="panda", help="robot embodiment (default panda)")
    p.add_argument("--no-cams", action="store_true", help="skip the three-camera measurement")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tasks = [t for t in args.tasks.split(",") if t] or envs.list_tasks()
    unknown = [t for t in tasks if t not in envs.list_tasks()]
    if unknown:
        print(f"error: unknown task(s) {unknown}; valid tasks: {envs.list_tasks()}", file=sys.stderr)
        return 2
    if args.embodiment not in envs.list_embodiments():
        print(
            f"error: unknown embodiment {args.embodiment!r}; valid: {envs.list_embodiments()}",
            file=sys.stderr,
        )
        return 2
    if args.steps < 1 or args.repeats < 1:
        print("error: --steps and --repeats must be >= 1", file=sys.stderr)
        return 2
    settings = {"nocam": ()} if args.no_cams else {"nocam": (), "cams": DROID_CAMERAS}
    print(f"embodiment={args.embodiment} steps={args.steps} repeats={args.repeats} image={IMAGE_SIZE}")
    print(f"{'task':<22}{'cameras':<8}{'ours steps/s':>14}{'raw steps/s':>14}{'ratio':>8}{'min-max':>14}")
    results: dict[str, list[dict]] = {k: [] for k in settings}
    for task in tasks:
        for label, cams in settings.items():
            r = measure(task, args.embodiment, cams, args.steps, args.repeats)
            results[label].append(r)
            spread = f"{r['ratio_min']:.3f}-{r['ratio_max']:.3f}"
            print(
                f"{task:<22}{label:<8}{r['ours_sps']:>14.1f}{r['raw_sps']:>14.1f}{r['ratio']:>8.3f}{spread:>14}",
                flush=True,
            )
    nocam_rows = results["nocam"]
    overhead = statistics.median(r["ratio"] for r in nocam_rows)
    worst = max(r["ratio"] for r in nocam_rows)
    spread = statistics.median(r["ratio_max"] - r["ratio_min"] for r in nocam_rows)
    nocam = statistics.median(r["ours_sps"] for r in nocam_rows)
    cams = statistics.median(r["ours_sps"] for r in results["cams"]) if "cams" in results else float("nan")
    print(
        f"summary: wrapper_overhead={overhead:.3f} worst={worst:.3f} spread={spread:.3f} "
        f"steps_per_s_nocam={nocam:.1f} steps_per_s_cams={cams:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a Lift policy closes its gripper: the end-effector-to-cube offset at the first close, per seed.

    python scripts/grasp_offsets.py [--checkpoint DIR] [--seeds 0,1,...] [--noise-scale X]

Builds each episode as ``evals.run --suite test_cases/lift_eval.json --policy dreamzero`` does (the suite's
env settings and env seed, the policy seeded with the env seed, the same chunk adapter), so the outcomes
match that run's table; it also reads the simulator's state, which the runner's tables do not record.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from evals.contract.adapter import ChunkedPolicyWrapper
from evals.dataset.options import DROID_CAMERAS
from evals.policies import PolicyFactory
from evals.runner.backend import default_backend
from evals.runner.suite import expand, load_suite

SUITE = Path(__file__).resolve().parents[1] / "test_cases" / "lift_eval.json"


def first_close_offset(spec, factory, backend) -> tuple[bool, np.ndarray | None]:
    """(success, [dx, dy, dz] from the cube to the end effector at the first gripper close, or None)."""
    env = backend.make(spec.task, **spec.make_kwargs(DROID_CAMERAS))  # the views DreamZero reads
    policy = factory.for_episode(env, seed=spec.env_seed, episode_key=spec.episode_key)
    adapter = ChunkedPolicyWrapper(
        policy, open_loop_horizon=spec.open_loop_horizon, action_low=env.action_space.low,
        action_high=env.action_space.high,
    )  # fmt: skip
    obs, info = env.reset(seed=spec.env_seed)
    adapter.reset(spec.instruction)
    offset, success = None, False
    for _ in range(spec.horizon):
        state = env.unwrapped.sim_state()
        cube = state["objects"][state["target_object"]]
        action, _ = adapter.act(obs)
        if offset is None and action[-1] > 0.5:
            offset = np.asarray(state["eef_pos"]) - np.asarray(cube["pos"])
        obs, _, _, _, info = env.step(action)
        success = bool(info["success"])
        if success:
            break
    env.close()
    return success, offset


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", help="policy checkpoint (default: the shipped weights)")
    p.add_argument("--seeds", default="0,1,2,3,4,5,6,7,8,9,10,11", help="episode seeds of lift_eval.json")
    p.add_argument("--noise-scale", help="sampling temperature (default: the checkpoint's; upstream: 1)")
    a = p.parse_args()
    backend = default_backend()
    seeds = [int(s) for s in a.seeds.split(",")]
    options = {} if a.noise_scale is None else {"noise_scale": a.noise_scale}
    factory = PolicyFactory.from_spec("dreamzero", checkpoint=a.checkpoint, options=options)
    for spec in expand(load_suite(SUITE, backend), seeds):
        success, offset = first_close_offset(spec, factory, backend)
        where = "never closed" if offset is None else (
            f"xy {np.hypot(*offset[:2]) * 100:.1f} cm, z {offset[2] * 100:+.1f} cm"
        )  # fmt: skip
        print(f"seed {spec.seed:3d}  success={int(success)}  first close: {where}", flush=True)


if __name__ == "__main__":
    main()

"""Run in a subprocess with 8 forced host devices: DreamZeroPolicy with ``mesh=`` vs without.

``python tests/dreamzero_jax/_policy_mesh_worker.py MESH [MESH ...]``: two chunks of one episode of the tiny
random-weight policy per mesh; prints the largest action difference to the unsharded policy as JSON.
"""

from __future__ import annotations

import json
import os
import sys

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8"

import jax
import numpy as np

from dreamzero_jax.inference import DreamZeroPolicy
from dreamzero_jax.inference.frames import DROID_CAMERAS
from dreamzero_jax.sharding import MODEL


def observation(i: int) -> dict:
    rng = np.random.default_rng(i)
    obs = {k: rng.integers(0, 256, (90, 160, 3), dtype=np.uint8) for k in DROID_CAMERAS}
    return obs | {
        "joint_position": rng.normal(0, 0.5, 7),
        "gripper_position": np.array([0.2]),
        "prompt": "lift",
    }


def episode(policy: DreamZeroPolicy) -> np.ndarray:
    policy.reset("lift", seed=4)
    return np.stack([policy.infer(observation(i))["actions"] for i in range(2)])


def main(meshes: list[str]) -> None:
    assert jax.device_count() == 8, jax.devices()
    reference = episode(DreamZeroPolicy.from_config("tiny", seed=0))
    report = {}
    for mesh in meshes:
        policy = DreamZeroPolicy.from_config("tiny", seed=0, mesh=mesh)
        q = policy.params["blocks"][0]["self_attn"]["q"]["kernel"][...]
        assert MODEL in tuple(q.sharding.spec) and len(q.sharding.device_set) == 8, q.sharding
        actions = episode(policy)
        report[mesh] = {
            "max_abs_diff": float(np.abs(actions - reference).max()),
            "scale": float(np.abs(reference).max()),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1:])

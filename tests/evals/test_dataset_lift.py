"""End to end on the real simulator: `evals.run --policy expert --dataset` on Lift records the successful episodes."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dreamzero_jax.data import load_dataset
from evals.run import main

SUITE = {
    "format_version": 1,
    "name": "lift_tiny",
    "version": "1",
    "defaults": {
        "seeds": [0, 1],
        "action_space": "joint_position",
        "cameras": ["exterior_image_0_left"],
        "image_size": [90, 160],
    },
    "cases": [{"id": "lift-panda", "task": "Lift", "horizon": 60}],
}


# ~20 s on a shared 2-core CPU (three cameras rendered every step); the fake-env CLI tests cover the rest fast.
def test_expert_lift_run_writes_a_readable_dataset_of_its_successes(tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps(SUITE))
    args = ["--suite", str(suite), "--policy", "expert", "--output", str(tmp_path / "run"), "--quiet"]
    assert main([*args, "--dataset", str(tmp_path / "ds")]) == 0
    episodes = pd.read_parquet(tmp_path / "run" / "episodes.parquet")
    ok = episodes[episodes["success"]]
    assert len(ok) >= 1
    ds = load_dataset(tmp_path / "ds")
    assert ds.fps == 15 and [len(e) for e in ds.episodes] == list(ok["steps"])
    assert [e.task for e in ds.episodes] == list(ok["instruction"])
    assert {e.embodiment for e in ds.episodes} == {"panda"}
    ep = ds.episodes[0]
    assert ep.state.shape == ep.action.shape == (len(ep), 8)
    wrist = ep.frames["observation.images.wrist_image_left"]
    assert wrist.shape == (len(ep), 64, 96, 3) and wrist.std() > 1  # rendered, not blank
    assert np.abs(np.diff(ep.state[:, :7], axis=0)).max() > 1e-3  # the arm moves

"""`DatasetWriter` (LeRobot v3.0 layout, lossless videos, stats, splits) and `evals.run --dataset`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dreamzero_jax.data import load_dataset
from dreamzero_jax.data.video import read_frames
from evals.dataset.lerobot_writer import DatasetDirError, DatasetWriter

CAMS = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
SIZE = (6, 10)
LENGTHS = (4, 7, 3)
TASKS = ("lift the cube", "push the cube", "lift the cube")
EMBODIMENTS = ("panda", "iiwa", "panda")


def episode(i: int, length: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """Distinct values per episode, camera and step; a saturated red patch that chroma subsampling would bleed."""
    rng = np.random.default_rng(100 + i)
    frames = {cam: rng.integers(0, 256, (length, *SIZE, 3), dtype=np.uint8) for cam in CAMS}
    for f in frames.values():
        f[:, 1:3, 2:4] = (255, 0, 0)
    state = rng.normal(size=(length, 8)).astype(np.float32) + 10 * i
    action = rng.normal(size=(length, 8)).astype(np.float32) - 10 * i
    return frames, state, action


def write(root: Path, **kwargs) -> tuple[dict, list]:
    w = DatasetWriter(root, fps=15, cameras=CAMS, size=SIZE, **kwargs)
    eps = []
    for i, (n, task, emb) in enumerate(zip(LENGTHS, TASKS, EMBODIMENTS, strict=True)):
        frames, state, action = episode(i, n)
        assert w.add_episode(frames, state, action, task=task, embodiment=emb, success=True) == i
        eps.append((frames, state, action))
    return w.close(), eps


def test_layout_matches_the_v30_format(tmp_path):
    info, eps = write(tmp_path / "ds")
    root = tmp_path / "ds"
    assert info == json.loads((root / "meta/info.json").read_text())
    for key in ("codebase_version", "fps", "robot_type", "features", "total_episodes", "total_frames",
                "total_tasks", "chunks_size", "data_files_size_in_mb", "video_files_size_in_mb",
                "data_path", "video_path", "splits"):  # fmt: skip
        assert key in info, key
    assert info["codebase_version"] == "v3.0" and info["fps"] == 15 and info["robot_type"] == "mixed"
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, sum(LENGTHS), 2)
    assert info["splits"] == {"train": "0:2", "val": "2:3"}
    feats = info["features"]
    assert feats["observation.state"]["dtype"] == "float32" and feats["action"]["shape"] == [8]
    assert feats["observation.images.wrist_image_left"]["dtype"] == "video"
    assert feats["observation.images.wrist_image_left"]["shape"] == [*SIZE, 3]

    data = pq.read_table(root / "data/chunk-000/file-000.parquet")
    assert data.schema.field("observation.state").type == pa.list_(pa.float32(), 8)
    assert data.schema.field("timestamp").type == pa.float32()
    for col in ("frame_index", "episode_index", "index", "task_index"):
        assert data.schema.field(col).type == pa.int64()
    df = data.to_pandas()
    np.testing.assert_array_equal(df["index"], np.arange(sum(LENGTHS)))
    np.testing.assert_array_equal(df["frame_index"], np.concatenate([np.arange(n) for n in LENGTHS]))
    np.testing.assert_allclose(df["timestamp"], df["frame_index"] / 15, rtol=1e-6)
    np.testing.assert_array_equal(df["task_index"], np.repeat([0, 1, 0], LENGTHS))

    tasks = pd.read_parquet(root / "meta/tasks.parquet")
    assert dict(zip(tasks.index, tasks["task_index"], strict=True)) == {
        "lift the cube": 0,
        "push the cube": 1,
    }

    meta = pd.read_parquet(root / "meta/episodes/chunk-000/file-000.parquet")
    ends = np.cumsum(LENGTHS)
    np.testing.assert_array_equal(meta["dataset_from_index"], ends - LENGTHS)
    np.testing.assert_array_equal(meta["dataset_to_index"], ends)
    assert list(meta["length"]) == list(LENGTHS) and list(meta["embodiment"]) == list(EMBODIMENTS)
    assert [list(t) for t in meta["tasks"]] == [[t] for t in TASKS]
    key = "videos/observation.images.exterior_image_1_left"
    np.testing.assert_allclose(meta[f"{key}/from_timestamp"], (ends - LENGTHS) / 15)
    np.testing.assert_allclose(meta[f"{key}/to_timestamp"], ends / 15)
    for cam in CAMS:
        video = read_frames(root / f"videos/observation.images.{cam}/chunk-000/file-000.mp4")
        assert len(video) == sum(LENGTHS)  # video frames == rows

    stats = json.loads((root / "meta/stats.json").read_text())
    states = np.concatenate([s for _, s, _ in eps])
    np.testing.assert_allclose(stats["observation.state"]["min"], states.min(0), rtol=1e-6)
    np.testing.assert_allclose(stats["observation.state"]["max"], states.max(0), rtol=1e-6)
    np.testing.assert_allclose(stats["observation.state"]["mean"], states.mean(0), rtol=1e-5)
    np.testing.assert_allclose(stats["observation.state"]["std"], states.std(0), rtol=1e-5)
    assert stats["action"]["count"] == [sum(LENGTHS)]
    wrist = np.concatenate([f["wrist_image_left"] for f, _, _ in eps]) / 255.0
    np.testing.assert_allclose(np.ravel(stats["observation.images.wrist_image_left"]["mean"]),
                               wrist.reshape(-1, 3).mean(0), rtol=1e-6)  # fmt: skip


@pytest.mark.parametrize("small_files", [False, True], ids=["one_file", "file_per_episode"])
def test_round_trip_is_exact(tmp_path, small_files):
    sizes = {"data_files_size_in_mb": 1e-9, "video_files_size_in_mb": 1e-9} if small_files else {}
    _, eps = write(tmp_path / "ds", **sizes)
    if small_files:
        assert (tmp_path / "ds/data/chunk-000/file-002.parquet").is_file()
        assert (tmp_path / "ds/videos/observation.images.wrist_image_left/chunk-000/file-002.mp4").is_file()
    ds = load_dataset(tmp_path / "ds")
    assert ds.version == "v3.0" and ds.fps == 15 and ds.splits == {"train": (0, 1), "val": (2,)}
    assert [(e.index, e.task, e.embodiment) for e in ds.episodes] == [
        (i, t, m) for i, (t, m) in enumerate(zip(TASKS, EMBODIMENTS, strict=True))
    ]
    for got, (frames, state, action) in zip(ds.episodes, eps, strict=True):
        np.testing.assert_array_equal(got.state, state)
        np.testing.assert_array_equal(got.action, action)
        for cam in CAMS:
            np.testing.assert_array_equal(got.frames[f"observation.images.{cam}"], frames[cam])  # lossless


def test_failures_are_skipped_unless_kept(tmp_path):
    frames, state, action = episode(0, 3)
    for keep, expected in ((False, None), (True, 0)):
        w = DatasetWriter(tmp_path / f"ds{keep}", fps=15, cameras=CAMS, size=SIZE, keep_failures=keep)
        assert w.add_episode(frames, state, action, task="t", embodiment="panda", success=False) == expected
        assert w.close()["total_episodes"] == (1 if keep else 0)


def test_refuses_a_non_empty_directory_and_bad_shapes(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "keep.txt").write_text("mine")
    with pytest.raises(DatasetDirError, match="not an empty directory"):
        DatasetWriter(tmp_path / "ds", fps=15, cameras=CAMS, size=SIZE)
    w = DatasetWriter(tmp_path / "empty", fps=15, cameras=CAMS, size=SIZE)  # new dirs and empty ones are fine
    frames, state, action = episode(0, 3)
    with pytest.raises(ValueError, match="expected"):
        w.add_episode(
            {**frames, CAMS[0]: frames[CAMS[0]][:2]}, state, action, task="t", embodiment="p", success=True
        )

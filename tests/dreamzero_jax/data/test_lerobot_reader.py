"""`dreamzero_jax.data.load_dataset`: v2.1 written by hand, v3.0 from the project's writer, every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
import pandas as pd
import pytest

from dreamzero_jax.data import Columns, DatasetError, load_dataset
from evals.dataset.lerobot_writer import DatasetWriter

REPO = Path(__file__).resolve().parents[3]
EGO = "observation.images.ego_view"
V21_COLUMNS = Columns(state="observation.state", action="action", cameras=(EGO,))
V21_LENGTHS = (5, 3)


def frames_of(i: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(i)
    f = rng.integers(0, 256, (n, 8, 12, 3), dtype=np.uint8)
    f[:, 2:4, 2:4] = (255, 0, 0)
    return f


def write_v21(root: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """A tiny v2.1 dataset laid out as DreamZero's / GR00T's training data (one parquet + MP4 per episode)."""
    (root / "meta").mkdir(parents=True)
    info = {
        "codebase_version": "v2.1",
        "robot_type": "gr1",
        "fps": 20,
        "chunks_size": 1000,
        "total_episodes": 2,
        "splits": {"train": "0:2"},
        "data_path": "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet",
        "video_path": "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4",
        "features": {
            "observation.state": {"dtype": "float32", "shape": [5]},
            "action": {"dtype": "float32", "shape": [3]},
            EGO: {"dtype": "video", "shape": [8, 12, 3]},
        },
    }
    (root / "meta/info.json").write_text(json.dumps(info))
    tasks = [{"task_index": 0, "task": "pick the apple"}, {"task_index": 1, "task": "open the drawer"}]
    (root / "meta/tasks.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    episodes, out = [], []
    for i, n in enumerate(V21_LENGTHS):
        rng = np.random.default_rng(10 + i)
        state, action = rng.normal(size=(n, 5)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32)
        df = pd.DataFrame({"observation.state": list(state), "action": list(action),
                           "episode_index": i, "frame_index": np.arange(n), "task_index": 1 - i})  # fmt: skip
        (root / "data/chunk-000").mkdir(parents=True, exist_ok=True)
        df.to_parquet(root / f"data/chunk-000/episode_{i:06d}.parquet")
        video = root / f"videos/chunk-000/{EGO}/episode_{i:06d}.mp4"
        video.parent.mkdir(parents=True, exist_ok=True)
        frames = frames_of(i, n)
        w = imageio.get_writer(video, fps=20, codec="libx264rgb", pixelformat="rgb24",
                               output_params=["-qp", "0"], macro_block_size=1)  # fmt: skip
        for f in frames:
            w.append_data(f)
        w.close()
        episodes.append({"episode_index": i, "tasks": [tasks[1 - i]["task"]], "length": n})
        out.append((state, action, frames))
    (root / "meta/episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in episodes))
    return out


def write_v30(root: Path, lengths=(4, 3)) -> None:
    cams = ("exterior_image_0_left", "exterior_image_1_left", "wrist_image_left")
    w = DatasetWriter(root, fps=15, cameras=cams, size=(8, 12))
    for i, n in enumerate(lengths):
        rng = np.random.default_rng(i)
        state, action = rng.normal(size=(n, 8)), rng.normal(size=(n, 8))
        w.add_episode(
            {c: frames_of(i, n) for c in cams}, state, action, task="t", embodiment="panda", success=True
        )
    w.close()


def test_reads_v21(tmp_path):
    written = write_v21(tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds", V21_COLUMNS)
    assert ds.version == "v2.1" and ds.fps == 20 and ds.splits == {"train": (0, 1)}
    assert [(e.task, e.embodiment) for e in ds.episodes] == [
        ("open the drawer", "gr1"),
        ("pick the apple", "gr1"),
    ]
    for got, (state, action, frames) in zip(ds.episodes, written, strict=True):
        np.testing.assert_array_equal(got.state, state)
        np.testing.assert_array_equal(got.action, action)
        np.testing.assert_array_equal(got.frames[EGO], frames)


def test_lazy_frames_decode_on_access(tmp_path):
    write_v30(tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds", load_frames=False)
    key = Columns().cameras[2]
    np.testing.assert_array_equal(ds.episodes[1].frames[key], frames_of(1, 3))
    assert ds.splits == {"train": (0,), "val": (1,)} and [e.index for e in ds.split("val")] == [1]


def _drop_video_frame(root: Path) -> None:
    video = root / f"videos/chunk-000/{EGO}/episode_000001.mp4"
    w = imageio.get_writer(video, fps=20, codec="libx264rgb", pixelformat="rgb24", output_params=["-qp", "0"],
                           macro_block_size=1)  # fmt: skip
    for f in frames_of(1, 2):
        w.append_data(f)
    w.close()


def _edit_parquet(path: Path, edit) -> None:
    df = pd.read_parquet(path)
    edit(df)
    df.to_parquet(path)


def _nan_action(df):
    df.at[1, "action"] = np.array([0.0, np.nan, 0.0], np.float32)


def _null_action(df):
    df["action"] = [*list(df["action"])[:-1], None]


V21_BREAKS = {
    "missing column": (
        lambda r: _edit_parquet(
            r / "data/chunk-000/episode_000000.parquet", lambda df: df.__delitem__("action")
        ),
        "missing column 'action'",
    ),
    "video frames != rows": (_drop_video_frame, "2 video frames but 3 rows"),
    "state rows != action rows": (
        lambda r: _edit_parquet(r / "data/chunk-000/episode_000000.parquet", _null_action),
        "5 state rows but 4 action rows",
    ),
    "nan action": (
        lambda r: _edit_parquet(r / "data/chunk-000/episode_000000.parquet", _nan_action),
        "NaN/inf",
    ),
    "no episodes": (lambda r: (r / "meta/episodes.jsonl").write_text(""), "no episodes"),
    "unknown version": (
        lambda r: (r / "meta/info.json").write_text(
            (r / "meta/info.json").read_text().replace('"v2.1"', '"v9.9"')
        ),
        "unknown codebase_version 'v9.9'",
    ),
    "missing video": (lambda r: (r / f"videos/chunk-000/{EGO}/episode_000000.mp4").unlink(), "missing video"),
    "missing data": (
        lambda r: (r / "data/chunk-000/episode_000001.parquet").unlink(),
        "missing data/chunk-000",
    ),
    "missing info": (lambda r: (r / "meta/info.json").unlink(), "missing meta/info.json"),
    "rows != length": (
        lambda r: (r / "meta/episodes.jsonl").write_text(
            (r / "meta/episodes.jsonl").read_text().replace('"length": 5', '"length": 6')
        ),
        "5 data rows but the metadata says length 6",
    ),
}


@pytest.mark.parametrize("case", sorted(V21_BREAKS))
def test_bad_v21_input_is_one_line_dataset_error(tmp_path, case):
    write_v21(tmp_path / "ds")
    load_dataset(tmp_path / "ds", V21_COLUMNS)  # valid before the break
    breaker, message = V21_BREAKS[case]
    breaker(tmp_path / "ds")
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path / "ds", V21_COLUMNS)
    assert message in str(err.value) and "\n" not in str(err.value)


def _shorten_span(root: Path) -> None:
    path = root / "meta/episodes/chunk-000/file-000.parquet"
    key = "videos/observation.images.wrist_image_left/to_timestamp"
    _edit_parquet(path, lambda df: df.__setitem__(key, df[key] - 1 / 15))


V30_BREAKS = {
    "camera not in features": (lambda r: None, "missing camera 'observation.images.top'"),
    "video span != rows": (_shorten_span, "video span holds 3 frames but the episode has 4 rows"),
    "missing video": (
        lambda r: (r / "videos/observation.images.wrist_image_left/chunk-000/file-000.mp4").unlink(),
        "missing video file",
    ),
    "no episodes": (lambda r: (r / "meta/episodes/chunk-000/file-000.parquet").unlink(), "no episodes"),
    "nan state": (
        lambda r: _edit_parquet(
            r / "data/chunk-000/file-000.parquet",
            lambda df: df.__setitem__("observation.state", [np.full(8, np.inf, np.float32)] * len(df)),
        ),
        "'observation.state' holds NaN/inf",
    ),
}


@pytest.mark.parametrize("case", sorted(V30_BREAKS))
def test_bad_v30_input_is_one_line_dataset_error(tmp_path, case):
    write_v30(tmp_path / "ds")
    breaker, message = V30_BREAKS[case]
    breaker(tmp_path / "ds")
    columns = Columns(cameras=("observation.images.top",)) if case == "camera not in features" else Columns()
    with pytest.raises(DatasetError) as err:
        load_dataset(tmp_path / "ds", columns)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_reader_imports_neither_evals_nor_envs():
    code = "import sys, dreamzero_jax.data; print(sorted(m for m in sys.modules if m.split('.')[0] in ('evals', 'envs')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"

"""A whole run on the fake env: every output file, exact parquet columns and dtypes, run.json, summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import run_main, write_suite

from evals.runner.columns import EPISODE_SCHEMA, STEP_SCHEMA, TIMING_COLUMNS


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("outputs")
    rc = run_main(["--suite", write_suite(tmp), "--policy", "expert", "--output", tmp / "run", "--quiet"])
    assert rc == 1  # the FakeCrash episode errors -> documented exit code 1
    return tmp / "run"


def test_every_output_file_exists(run_dir):
    for name in ("run.json", "episodes.parquet", "steps.parquet", "summary.csv"):
        assert (run_dir / name).is_file(), name
    assert [p.name for p in (run_dir / "videos").iterdir()] == ["crash__seed0.mp4"]  # failures only


def test_episode_columns_and_dtypes(run_dir):
    schema = pq.read_schema(run_dir / "episodes.parquet")
    fixed = schema.names[: len(EPISODE_SCHEMA)]
    assert fixed == EPISODE_SCHEMA.names
    for f in EPISODE_SCHEMA:
        assert schema.field(f.name).type == f.type, f.name
    assert schema.names[len(EPISODE_SCHEMA) :] == [
        "var.distractors.count",
        "var.object_pose.dx",
        "var.table_texture.name",
    ]
    assert schema.field("var.object_pose.dx").type == pa.float64()
    assert schema.field("var.table_texture.name").type == pa.string()


def test_episode_rows(run_dir):
    ep = pd.read_parquet(run_dir / "episodes.parquet")
    assert list(zip(ep.case_id, ep.seed, strict=True)) == [
        ("reach_panda", 0),
        ("reach_panda", 1),
        ("reach_ur5e", 5),
        ("reach_ur5e", 6),
        ("crash", 0),
    ]
    assert ep.success.tolist() == [True, True, True, True, False]
    assert ep.termination_reason.tolist() == ["success"] * 4 + ["error"]
    assert ep.error.tolist()[:4] == [""] * 4 and ep.error_type.iloc[4] == "RuntimeError"
    assert (ep.policy == "expert").all() and ep.video.iloc[4] == "videos/crash__seed0.mp4"
    assert list(ep.tags.iloc[0]) == ["base", "panda"]
    assert ep["var.object_pose.dx"].iloc[:2].eq(0).all() and ep["var.object_pose.dx"].iloc[2:4].ne(0).all()


def test_step_columns_and_rows(run_dir):
    table = pq.read_table(run_dir / "steps.parquet")
    assert table.schema.names == STEP_SCHEMA.names
    for f in STEP_SCHEMA:
        assert table.schema.field(f.name).type == f.type, f.name
    steps = table.to_pandas()
    ep = pd.read_parquet(run_dir / "episodes.parquet")
    assert len(steps) == ep.steps.sum()
    first = steps[(steps.case_id == "reach_panda") & (steps.seed == 0)]
    assert first.step.tolist() == list(range(len(first)))
    assert len(first.action.iloc[0]) == 8 and len(first.joint_position.iloc[0]) == 7
    assert first.policy_latency_ms.isna().tolist() == [not c for c in first.policy_called]


def test_run_json(run_dir):
    info = json.loads((run_dir / "run.json").read_text())
    assert info["status"] == "completed" and info["ended_at"] and info["started_at"]
    assert info["suite_format_version"] == 1 and info["suite_version"] == "3"
    assert [c["id"] for c in info["suite"]["cases"]] == ["reach_panda", "reach_ur5e", "crash"]
    assert info["suite"]["cases"][1]["seeds"] == [5, 6]  # resolved
    assert info["task_fingerprints"] == {"FakeCrash": "fp-FakeCrash", "FakeReach": "fp-FakeReach"}
    assert info["policy"]["name"] == "expert" and info["policy_spec"] == "expert"
    assert info["package_versions"]["numpy"] and "hostname" in info["host"]
    assert "--suite" in info["command_line"] and "git_commit" in info
    assert info["episodes_finished"] == 5 and info["episodes_errored"] == 1


def test_summary_csv(run_dir):
    s = pd.read_csv(run_dir / "summary.csv")
    overall = s[s.group_by == "all"].iloc[0]
    assert overall.episodes == 5 and overall.successes == 4
    assert overall.ci95_low == pytest.approx(0.3755, abs=1e-3) and overall.ci95_high == pytest.approx(
        0.9638, abs=1e-3
    )
    assert set(s.group_by) == {"all", "case_id", "task", "embodiment", "tag"}
    assert s[(s.group_by == "tag") & (s.group == "base")].episodes.item() == 5


def test_timing_columns_are_real_columns():
    names = set(EPISODE_SCHEMA.names) | set(STEP_SCHEMA.names)
    assert names >= TIMING_COLUMNS


def test_video_all_and_none(tmp_path):
    suite = write_suite(tmp_path)
    assert (
        run_main(
            ["--suite", suite, "--output", tmp_path / "all", "--video", "all", "--quiet", "--tags", "panda"]
        )
        == 0
    )
    assert sorted(p.name for p in (tmp_path / "all" / "videos").iterdir()) == [
        "reach_panda__seed0.mp4",
        "reach_panda__seed1.mp4",
    ]
    assert run_main(["--suite", suite, "--output", tmp_path / "none", "--video", "none", "--quiet"]) == 1
    assert list((tmp_path / "none" / "videos").iterdir()) == []


def test_video_stride_frame_count_and_run_json(tmp_path):
    import imageio.v2 as imageio

    suite = write_suite(tmp_path)
    args = ["--suite", suite, "--video", "all", "--quiet", "--cases", "reach_panda", "--seeds-override", "0"]
    assert run_main([*args, "--output", tmp_path / "s", "--video-stride", "3"]) == 0
    steps = int(pd.read_parquet(tmp_path / "s" / "episodes.parquet").steps.item())
    with imageio.get_reader(tmp_path / "s" / "videos" / "reach_panda__seed0.mp4") as reader:
        frames = sum(1 for _ in reader)
    assert frames == steps // 3 + 1 and steps > 3  # the reset view and every third step's view
    assert json.loads((tmp_path / "s" / "run.json").read_text())["video_stride"] == 3


def test_refuses_to_overwrite_a_run(tmp_path, capsys):
    suite = write_suite(tmp_path)
    assert run_main(["--suite", suite, "--output", tmp_path / "r", "--quiet", "--cases", "reach_panda"]) == 0
    assert run_main(["--suite", suite, "--output", tmp_path / "r", "--quiet"]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_variation_of_mixed_types_becomes_string(tmp_path):
    from evals.runner.recorder import RunRecorder
    from evals.runner.spec import EpisodeSpec

    rec = RunRecorder(tmp_path)
    rec.prepare()
    for seed, value in ((0, 1.5), (1, "red")):
        spec = EpisodeSpec(
            "s", "1", 0, "c", "T", "panda", "i", seed, 5, 8, "joint_position", (), (8, 8), 15, True
        )
        result = fake_result(spec, {"table": value, "n": seed})
        rec.append(result, "p")
    episodes, _ = rec.consolidate(["c"])
    assert episodes.schema.field("var.table").type == pa.string()
    assert episodes.column("var.table").to_pylist() == ["1.5", "red"]
    assert episodes.column("var.n").to_pylist() == [0.0, 1.0]


def fake_result(spec, variations):
    from evals.runner.episode import EpisodeResult, error_result

    result = error_result(spec, "", "")
    return EpisodeResult(spec, result.row, {}, variations)

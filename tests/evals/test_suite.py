"""Suite loading: defaults merging, expansion, filtering, and one clear message per kind of bad suite."""

from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import fake_env, run_cli, run_main, suite_doc, write_suite

from evals.runner.spec import derive_env_seed
from evals.runner.suite import SuiteError, expand, filter_specs, load_suite

BACKEND = fake_env.fake_backend()


def test_defaults_merge_into_cases(tmp_path):
    suite = load_suite(write_suite(tmp_path), BACKEND)
    panda, ur5e, crash = suite.cases
    assert panda["task"] == "FakeReach" and panda["seeds"] == [0, 1] and panda["horizon"] == 20
    assert panda["tags"] == ["base", "panda"]  # tags concatenate
    assert panda["embodiment"] == "panda" and panda["open_loop_horizon"] == 8  # builtin defaults
    assert panda["instruction"] == "reach the goal"  # from task_info
    assert ur5e["seeds"] == [5, 6]  # num_trials replaces the inherited seeds list
    assert ur5e["variations"] == {"object_pose": {"xy_range": 0.1}}
    assert crash["task"] == "FakeCrash" and crash["seeds"] == [0]


def test_variations_merge_key_by_key(tmp_path):
    doc = suite_doc()
    doc["defaults"]["variations"] = {"distractors": 2, "lighting": 0.5}
    doc["cases"][1]["variations"] = {"lighting": None, "object_pose": {"xy_range": 0.1}}
    ur5e = load_suite(write_suite(tmp_path, doc), BACKEND).cases[1]
    assert ur5e["variations"] == {"distractors": 2, "lighting": None, "object_pose": {"xy_range": 0.1}}


def test_task_default_horizon_used_when_unset(tmp_path):
    doc = suite_doc()
    del doc["defaults"]["horizon"]
    assert load_suite(write_suite(tmp_path, doc), BACKEND).cases[0]["horizon"] == 30


def test_expand_order_and_env_seeds(tmp_path):
    specs = expand(load_suite(write_suite(tmp_path), BACKEND))
    assert [(s.case_id, s.seed) for s in specs] == [
        ("reach_panda", 0),
        ("reach_panda", 1),
        ("reach_ur5e", 5),
        ("reach_ur5e", 6),
        ("crash", 0),
    ]
    assert specs[0].env_seed == derive_env_seed("reach_panda", 0)
    assert specs[0].env_seed != specs[1].env_seed != specs[4].env_seed
    overridden = expand(load_suite(write_suite(tmp_path), BACKEND), seeds_override=[7])
    assert [(s.case_id, s.seed) for s in overridden] == [("reach_panda", 7), ("reach_ur5e", 7), ("crash", 7)]


def test_env_seed_is_stable_across_interpreters():
    import subprocess
    import sys

    code = "from evals.runner.spec import derive_env_seed; print(derive_env_seed('cube', 3))"
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": str(h), "PATH": ""},
        ).stdout.strip()
        for h in (1, 2)
    }
    assert outs == {str(derive_env_seed("cube", 3))}


def test_env_seed_is_pinned_and_depends_on_the_case():
    # Recorded runs and published tables depend on this value: changing the derivation changes every result.
    assert derive_env_seed("cube", 3) == 1590151603
    # Two cases with the same seed must not start from the same initial state.
    assert derive_env_seed("cube", 3) != derive_env_seed("lift", 3)
    assert derive_env_seed("cube", 3) != derive_env_seed("cube", 4)


def test_filters(tmp_path):
    specs = expand(load_suite(write_suite(tmp_path), BACKEND))
    assert {s.case_id for s in filter_specs(specs, cases=["reach_*"])} == {"reach_panda", "reach_ur5e"}
    assert {s.case_id for s in filter_specs(specs, cases=["*ur5e", "crash"])} == {"reach_ur5e", "crash"}
    assert {s.case_id for s in filter_specs(specs, tags=["crash", "panda"])} == {"reach_panda", "crash"}
    assert {s.case_id for s in filter_specs(specs, tags=["base"])} == {"reach_panda", "reach_ur5e", "crash"}
    assert filter_specs(specs, cases=["reach_*"], tags=["crash"]) == []


def _bad(doc_edit):
    doc = suite_doc()
    doc_edit(doc)
    return doc


BAD_SUITES = {
    "unknown field": (
        lambda d: d["cases"][1].update(horizn=5),
        ["case 'reach_ur5e'", "horizn", "unknown field"],
    ),
    "wrong type": (
        lambda d: d["cases"][0].update(horizon="long"),
        ["case 'reach_panda'", "'horizon'", "integer"],
    ),
    "duplicate id": (lambda d: d["cases"][2].update(id="reach_panda"), ["cases[2]", "'id'", "duplicate"]),
    "empty seeds": (lambda d: d["cases"][0].update(seeds=[]), ["case 'reach_panda'", "'seeds'"]),
    "unknown task": (
        lambda d: d["cases"][2].update(task="Fly"),
        ["case 'crash'", "'task'", "Fly", "FakeReach"],
    ),
    "unknown embodiment": (
        lambda d: d["cases"][1].update(embodiment="r2d2"),
        ["case 'reach_ur5e'", "r2d2", "ur5e"],
    ),
    "unknown variation": (
        lambda d: d["cases"][0].update(variations={"gravity": 2}),
        ["case 'reach_panda'", "variations.gravity"],
    ),
    "seeds and num_trials": (
        lambda d: d["cases"][0].update(seeds=[1], num_trials=3),
        ["case 'reach_panda'", "num_trials"],
    ),
    "no seeds anywhere": (lambda d: d["defaults"].pop("seeds"), ["case 'reach_panda'", "'seeds'", "missing"]),
    "bad format version": (lambda d: d.update(format_version=2), ["format_version", "not supported"]),
    "missing cases": (lambda d: d.pop("cases"), ["'cases'", "missing"]),
    "bad default": (lambda d: d["defaults"].update(open_loop_horizon=0), ["defaults", "open_loop_horizon"]),
}


@pytest.mark.parametrize("kind", sorted(BAD_SUITES))
def test_bad_suite_gives_one_clear_message(tmp_path, kind):
    edit, expected = BAD_SUITES[kind]
    path = write_suite(tmp_path, _bad(edit))
    with pytest.raises(SuiteError) as err:
        load_suite(path, BACKEND)
    message = str(err.value)
    assert "\n" not in message and message.startswith(str(path))
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_invalid_json_reports_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format_version": 1,\n  "name": "x"\n  "cases": []\n}\n')
    with pytest.raises(SuiteError, match=r"broken.json: invalid JSON at line 4, column 3"):
        load_suite(path, BACKEND)


def test_cli_bad_suite_exits_2_without_traceback(tmp_path):
    path = write_suite(tmp_path, _bad(lambda d: d["cases"][1].update(horizon=-4)))
    proc = run_cli(["--suite", path, "--policy", "expert", "--output", tmp_path / "run"])
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and lines[0].startswith("error: ")
        and "reach_ur5e" in lines[0]
        and "horizon" in lines[0]
    )
    assert not (tmp_path / "run").exists()  # nothing ran


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--policy", "telepathy"], "unknown policy"),
        (["--cases", "nomatch*"], "no episodes of suite 'fake' match --cases nomatch*"),
        (["--seeds-override", "a,b"], "--seeds-override"),
        (["--workers", "0"], "--workers"),
        (["--video-stride", "0"], "--video-stride"),
    ],
)
def test_usage_errors_exit_2(tmp_path, capsys, args, fragment):
    rc = run_main(["--suite", write_suite(tmp_path), "--output", tmp_path / "run", *args])
    err = capsys.readouterr().err
    assert rc == 2 and fragment in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_missing_suite_file(tmp_path, capsys):
    assert run_main(["--suite", tmp_path / "nope.json"]) == 2
    assert "nope.json: cannot read suite file" in capsys.readouterr().err


def test_binary_suite_file_gives_one_line_and_exit_2(tmp_path, capsys):
    path = tmp_path / "suite.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    assert run_main(["--suite", path, "--list"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "suite.json" in err[0] and "UTF-8" in err[0]


def test_list_prints_expanded_episodes(tmp_path, capsys):
    assert run_main(["--suite", write_suite(tmp_path), "--list", "--tags", "panda"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "2 episodes" and out[1].startswith("reach_panda\tseed=0\t")


def test_suite_documents_are_not_mutated(tmp_path):
    doc = suite_doc()
    before = copy.deepcopy(doc)
    load_suite(write_suite(tmp_path, doc), BACKEND)
    assert doc == before


def test_help_documents_every_flag_and_exit_code():
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-m", "evals.run", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    for flag in (
        "--suite",
        "--policy",
        "--checkpoint",
        "--cases",
        "--tags",
        "--workers",
        "--output",
        "--resume",
        "--video",
        "--list",
        "--quiet",
        "--seeds-override",
        "--max-episodes",
    ):
        assert flag in proc.stdout
    for code in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {code}" in proc.stdout

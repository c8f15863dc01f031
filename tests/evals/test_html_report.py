"""`evals.html_report`: a valid, self-contained HTML file from a synthetic run directory."""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from test_compare import make_runner_dirs, write_run

from evals.reports import html_report
from evals.runner.stats import wilson_interval

VOID = {"meta", "br", "hr", "img", "input", "link", "line", "rect"}  # line/rect are self-closed SVG


class _Checker(HTMLParser):
    """Records tags, attributes and text; fails on mismatched nesting."""

    def __init__(self):
        super().__init__()
        self.stack, self.tags, self.hrefs, self.text = [], [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.hrefs += [v for k, v in attrs if k in ("href", "src")]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def runner_dirs(tmp_path_factory):
    return make_runner_dirs(tmp_path_factory)


def parse(text: str) -> _Checker:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.stack == [], f"unclosed tags {checker.stack}"
    return checker


@pytest.fixture
def run_dir(tmp_path):
    rows = [
        {"case_id": "lift", "seed": i, "success": i % 3 != 0, "var.object_pose.dx": i / 10 - 0.45,
         "var.distractors.count": float(i % 2), "var.table_texture": "red" if i < 5 else "wood",
         "var.lighting.diffuse": 0.5, "video": "", "task": "Lift" if i < 6 else "Push",
         "embodiment": "panda" if i % 2 else "kinova3", "policy_latency_p50_ms": 1.0 + i}
        for i in range(10)
    ]  # fmt: skip
    rows[0]["video"] = "videos/lift__seed0.mp4"
    rows[3].update(termination_reason="error", error_type="RuntimeError", error="bad <thing> & co")
    return write_run(tmp_path / "run", rows)


def test_report_is_valid_self_contained_html(run_dir, capsys):
    assert html_report.main([str(run_dir)]) == html_report.EXIT_OK
    text = (run_dir / "report.html").read_text(encoding="utf-8")
    page = parse(text)
    assert text.startswith("<!DOCTYPE html>")
    assert "script" not in page.tags and "link" not in page.tags and "img" not in page.tags
    assert page.tags.count("svg") >= 4  # task, embodiment, case charts need >1 group; variations always
    # relative links, nothing external: the failures table's link and the video grid's <video src>
    assert page.hrefs == ["videos/lift__seed0.mp4"] * 2
    assert page.tags.count("video") == 1  # only episodes with a video get a grid cell
    assert "Trajectory analysis" in page.text  # no steps.parquet here: the section says why
    body = " ".join(page.text)
    assert "RuntimeError: bad <thing> & co" in body  # escaped in the file, intact when parsed
    assert "bad <thing>" not in text
    for heading in (
        "Overall",
        "By task",
        "By embodiment",
        "By case",
        "Policy latency",
        "Success per variation",
    ):
        assert heading in page.text
    assert "Failed and errored episodes (4 of 10)" in body
    lo, hi = wilson_interval(
        6, 10
    )  # 10 episodes, seeds 0, 3, 6, 9 fail (3 errored: counted in n, as summary.csv)
    assert f"[{lo:.2f}, {hi:.2f}]" in body
    assert "Constant in this run: var.lighting.diffuse." in body


def test_video_links_are_relative_to_the_output(run_dir, tmp_path):
    out = tmp_path / "site" / "r.html"
    out.parent.mkdir()
    assert html_report.main([str(run_dir), "--output", str(out)]) == 0
    assert parse(out.read_text()).hrefs == ["../run/videos/lift__seed0.mp4"] * 2  # failures table + grid


def test_variation_bins_in_value_order(run_dir):
    eps = html_report.load_run(run_dir).episodes
    dx = html_report.variation_bins(eps, "var.object_pose.dx")
    assert len(dx) == html_report.MAX_BINS and dx["n"].sum() == 10
    lows = [float(label.split(",")[0].strip("([")) for label in dx["bin"]]
    assert lows == sorted(lows)  # interval order, not string order (negative values first)
    count = html_report.variation_bins(eps, "var.distractors.count")
    assert count["bin"].tolist() == ["0", "1"] and count["n"].tolist() == [5, 5]
    assert count["successes"].tolist() == [int(eps["success"][::2].sum()), int(eps["success"][1::2].sum())]
    texture = html_report.variation_bins(eps, "var.table_texture")
    assert texture["bin"].tolist() == ["red", "wood"]


def test_missing_variation_values_get_their_own_bin(run_dir):
    eps = html_report.load_run(run_dir).episodes.copy()
    eps.loc[:1, "var.object_pose.dx"] = float("nan")
    bins = html_report.variation_bins(eps, "var.object_pose.dx")
    assert bins["bin"].iloc[-1] == "missing" and bins["n"].iloc[-1] == 2


def test_svg_bars_scale_with_rate():
    svg = html_report.svg_bars(["a", "b <c>"], [0.5, float("nan")], [0.2, float("nan")], [0.8, float("nan")])
    parse(svg)
    assert 'width="180.0"' in svg  # 0.5 of the 360 px bar area
    assert svg.count("<rect") == 1 and "b &lt;c&gt;" in svg


def test_steps_table_feeds_latency_percentiles(run_dir):
    steps = pd.DataFrame(
        {
            "case_id": "lift",
            "seed": 0,
            "policy_called": [True] * 4 + [False],
            "policy_latency_ms": [1, 2, 3, 4, None],
        }
    )
    steps.to_parquet(run_dir / "steps.parquet")
    assert html_report.main([str(run_dir)]) == 0
    body = " ".join(parse((run_dir / "report.html").read_text()).text)
    assert "4 policy calls (steps.parquet)" in body and "2.5" in body  # median of 1..4


def test_missing_run_exits_2(tmp_path, capsys):
    assert html_report.main([str(tmp_path / "nope")]) == html_report.EXIT_USAGE
    assert "no run.json" in capsys.readouterr().err


def test_report_of_a_real_runner_directory(runner_dirs):
    run = runner_dirs["random"]
    assert html_report.main([str(run)]) == 0
    page = parse((run / "report.html").read_text())
    links = [h for h in page.hrefs if not h.startswith("data:image/png;base64,")]  # embedded analysis plots
    assert len(links) < len(page.hrefs)  # the latency histogram and action traces are embedded
    assert links and all((run / href).is_file() for href in links)  # links resolve to the MP4s
    assert "crash__seed0.mp4" in " ".join(links)

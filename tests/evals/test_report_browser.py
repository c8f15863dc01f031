"""The HTML report of a real (fake-env) run, rendered in headless Chromium: tables visible, analysis plots
decoded, every rollout video loads its H.264 MP4, no broken links; plus a screenshot.

Debian's `chromium` plays H.264 (.ci/run installs it); without it the test is skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # importlib mode: make the helpers importable
from runner_helpers import run_main, write_suite

from evals.reports import html_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium; .ci/run does it)"
)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--mute-audio"]

# Runs after load (plus a moment for the videos' metadata) and writes what the page saw into the DOM.
CHECK_SCRIPT = """<script>
function report() {
  const videos = [...document.querySelectorAll('video')].map(v => ({
    src: v.getAttribute('src'), ready: v.readyState, error: v.error ? v.error.code : null}));
  const tables = [...document.querySelectorAll('table')].map(t => t.offsetWidth > 0 && t.offsetHeight > 0);
  const images = [...document.querySelectorAll('img')].map(i => i.complete && i.naturalWidth > 0);
  const out = document.createElement('pre');
  out.id = 'browser-check';
  out.textContent = JSON.stringify({videos, tables, images});
  document.body.appendChild(out);
}
window.addEventListener('load', () => setTimeout(report, 1500));
</script>"""


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.links += [v for k, v in attrs if k in ("href", "src") and v and not v.startswith("data:")]


def chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *FLAGS, *args], capture_output=True, text=True, timeout=120)


def browser_check(report: Path) -> dict:
    """Load a copy of the report with CHECK_SCRIPT in Chromium; return what the script recorded."""
    probe = report.with_name("browser_check.html")
    probe.write_text(report.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    done = chromium("--virtual-time-budget=8000", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="browser-check">(.*?)</pre>', done.stdout, re.S)
    assert found, f"the check script did not run; chromium said: {done.stderr[-2000:]}"
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    run = tmp / "run"
    # The camera policy succeeds on FakeReach and errors on FakeCrash: grids hold failures and successes.
    args = ["--suite", write_suite(tmp), "--policy", "camera", "--output", run, "--video", "all", "--quiet"]
    assert run_main(args) == 1  # the FakeCrash episode errors
    assert html_report.main([str(run)]) == 0
    return run / "report.html"


def test_report_links_are_not_broken(report):
    parser = _Links()
    parser.feed(report.read_text())
    videos = {link for link in parser.links if link.endswith(".mp4")}  # grid + the failures table
    assert len(videos) == 5
    for link in parser.links:
        assert (report.parent / link).is_file(), f"broken link {link}"


def test_report_renders_in_chromium_with_playable_videos(report):
    seen = browser_check(report)
    assert seen["tables"] and all(seen["tables"]), f"invisible tables: {seen['tables']}"
    assert seen["images"] and all(seen["images"]), "an embedded analysis plot did not decode"
    assert len(seen["videos"]) == 5
    for video in seen["videos"]:
        assert video["error"] is None and video["ready"] >= 1, f"video did not load: {video}"


def test_report_screenshot(report, tmp_path):
    shot = tmp_path / "report.png"
    done = chromium("--window-size=1100,1400", f"--screenshot={shot}", report.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000  # not a blank page

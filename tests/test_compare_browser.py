"""The compare page in headless Chromium: it loads with no console errors, its tables and
charts are in the DOM and the charts decode, and a screenshot is saved for a human to look at
(test-artifacts/compare.png, git-ignored).

Console detection: Chromium 156 logs every console message as `INFO:CONSOLE:<line>` with
`--enable-logging=stderr`, console.error included, so filtering on an ERROR level would
silently pass. The page has no scripts at all, so any CONSOLE line (or an "Uncaught") is a
failure; `test_console_detection_catches_injected_errors` proves the check fires.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.reports.compare import compare_runs, load_run, write_compare_page
from engine.runs.config import RunConfig
from engine.workflows.run import run_to_folder
from tests.page_browser import BASE_FLAGS, chromium, console_problems, need_chromium

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACT = REPO / "test-artifacts" / "compare.png"
FLAGS = (*BASE_FLAGS, "--disable-quic")
TIMEOUT_S = 60
WINDOW = (1400, 2400)
ELEMENTS = {
    "metrics-table": "table",
    "regimes-table": "table",
    "config-diff": "table",
    "equity-chart": "img",
    "drawdown-chart": "img",
}
# Injected into copies only: reports, in the DOM, images that did not decode and resources
# the page fetched (data: URIs are not fetched). --dump-dom runs after the load event.
PROBE = """<script>window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0));
  const fetched = performance.getEntriesByType("resource").map(e => e.name);
  document.body.setAttribute("data-probe", JSON.stringify({
    images: document.images.length, broken: broken.map(i => i.id || i.src), fetched}));
});</script>"""


def _chromium(profile: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return chromium(profile, page.resolve(), *args, flags=FLAGS, timeout=TIMEOUT_S)


class _Elements(HTMLParser):
    """id -> tag, and the probe's report, from a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.images: dict[str, str] = {}
        self.probe: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.tags[str(values["id"])] = tag
            if tag == "img":
                self.images[str(values["id"])] = str(values.get("src"))
        if tag == "body" and values.get("data-probe"):
            self.probe = json.loads(str(values["data-probe"]))


def _parse(dom: str) -> _Elements:
    parser = _Elements()
    parser.feed(dom)
    return parser


def _inject(page: Path, name: str, snippet: str) -> Path:
    """A copy of the page with `snippet` just before </body>."""
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    copy = page.with_name(name)
    copy.write_text(text.replace("</body>", snippet + "</body>"), encoding="utf-8")
    return copy


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("compare-browser")


@pytest.fixture(scope="module")
def page(workdir: Path) -> Path:
    """A real page: two synthetic 60/40 runs, one on a shorter window (so a cut notice)."""
    need_chromium()
    results = workdir / "results"
    folders = [
        run_to_folder(RunConfig(strategy="60-40", **kw), None, results_dir=results, report=False)[0]
        for kw in (
            {"params": {"stock_weight": 0.6}},
            {"params": {"stock_weight": 0.8}, "start": dt.date(2031, 1, 1)},
        )
    ]
    comparison = compare_runs([load_run(f) for f in folders])
    return write_compare_page(comparison, workdir / "pages" / "compare.html")


@pytest.fixture(scope="module")
def loaded(page: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """The page as written, loaded once: its DOM after load and Chromium's log."""
    return _chromium(workdir / "profile-load", page, "--dump-dom")


def test_page_loads_without_console_errors(loaded: subprocess.CompletedProcess[str]) -> None:
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "<html" in loaded.stdout
    assert console_problems(loaded.stderr) == []


def test_console_detection_catches_injected_errors(page: Path, workdir: Path) -> None:
    """The check above can fail: a console.error and an uncaught throw are both caught."""
    bad = _inject(
        page,
        "console-error.html",
        '<script>console.error("injected-console-error")</script>'
        '<script>throw new Error("injected-uncaught")</script>',
    )
    result = _chromium(workdir / "profile-bad", bad, "--dump-dom")
    problems = console_problems(result.stderr)
    assert any("injected-console-error" in line for line in problems), result.stderr[-2000:]
    assert any("Uncaught" in line and "injected-uncaught" in line for line in problems)


def test_dom_has_the_tables_and_charts(loaded: subprocess.CompletedProcess[str]) -> None:
    found = _parse(loaded.stdout)
    for element, tag in ELEMENTS.items():
        assert found.tags.get(element) == tag, element
    for chart in ("equity-chart", "drawdown-chart"):
        assert found.images[chart].startswith("data:image/png;base64,")
    assert "window-notice" in found.tags


def test_charts_decode_and_nothing_is_fetched(page: Path, workdir: Path) -> None:
    probed = _chromium(workdir / "profile-probe", _inject(page, "probe.html", PROBE), "--dump-dom")
    report = _parse(probed.stdout).probe
    assert report == {"images": 2, "broken": [], "fetched": []}
    # the probe can fail: a missing image is reported
    broken = _inject(page, "probe-broken.html", '<img id="gone" src="gone.png">' + PROBE)
    report = _parse(_chromium(workdir / "profile-broken", broken, "--dump-dom").stdout).probe
    assert report is not None and report["broken"] == ["gone"]


def test_screenshot_is_saved_as_an_artifact(page: Path, workdir: Path) -> None:
    shot = workdir / "compare.png"
    size = f"--window-size={WINDOW[0]},{WINDOW[1]}"
    result = _chromium(workdir / "profile-shot", page, f"--screenshot={shot}", size)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == WINDOW  # IHDR width, height
    ARTIFACT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, ARTIFACT)

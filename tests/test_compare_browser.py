"""The compare page in headless Chromium: it loads offline with no console errors, plotly
draws its one interactive chart, nothing is fetched, the text shows the yearly returns and the
per-regime figures (recomputed here from the run folders), and a screenshot is saved for a
human to look at (test-artifacts/compare.png, git-ignored).

Console detection: Chromium 156 logs every console message as `INFO:CONSOLE:<line>` with
`--enable-logging=stderr`, console.error included, so filtering on an ERROR level would
silently pass. Any CONSOLE line (or an "Uncaught") is a failure;
`test_console_detection_catches_injected_errors` proves the check fires.
"""

from __future__ import annotations

import datetime as dt
import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.reports.compare import compare_runs, load_run, write_compare_page
from engine.reports.pages.run_data import save_page_inputs
from engine.runs.config import RunConfig
from engine.workflows.run import run_to_folder
from tests.page_browser import FLAGS, chromium, console_problems, need_chromium, probed

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACT = REPO / "test-artifacts" / "compare.png"
TIMEOUT_S = 120
WINDOW = (1400, 2400)
ELEMENTS = {
    "metrics-table": "table",
    "yearly-table": "table",
    "regimes-table": "table",
    "config-diff": "table",
    "compare-chart": "div",
    "window-notice": "p",
}


def _chromium(profile: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return chromium(profile, page.resolve(), *args, flags=FLAGS, timeout=TIMEOUT_S)


class _Elements(HTMLParser):
    """id -> tag, and the text outside scripts, from a dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.words: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.tags[str(values["id"])] = tag
        self._in_script = tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if not self._in_script:
            self.words.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.words).split())


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
def folders(workdir: Path) -> list[Path]:
    """Two synthetic 60/40 runs, one on a shorter window (so a cut notice), with the run
    page's instrument returns (so turnover per regime)."""
    need_chromium()
    made = []
    for kw in (
        {"params": {"stock_weight": 0.6}},
        {"params": {"stock_weight": 0.8}, "start": dt.date(2031, 1, 1)},
    ):
        folder, result = run_to_folder(
            RunConfig(strategy="60-40", **kw), None, results_dir=workdir / "results", report=False
        )
        save_page_inputs(result, folder)
        made.append(folder)
    return made


@pytest.fixture(scope="module")
def page(folders: list[Path], workdir: Path) -> Path:
    comparison = compare_runs([load_run(f) for f in folders])
    return write_compare_page(comparison, workdir / "pages" / "compare.html")


@pytest.fixture(scope="module")
def loaded(page: Path, workdir: Path) -> tuple[dict, str, str]:
    """The page loaded once with the probe: what plotly drew, the DOM, Chromium's log."""
    return probed(page, workdir)


def test_page_loads_offline_without_console_errors(loaded: tuple[dict, str, str]) -> None:
    report, dom, stderr = loaded
    assert "<html" in dom
    assert console_problems(stderr) == []
    assert report["fetched"] == []  # plotly.js is embedded: nothing comes from the network
    assert report["plots"] == ["compare-chart"]
    assert report["drawn"] >= 1  # plotly drew its SVG layers


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


def test_dom_has_the_tables_and_the_chart(loaded: tuple[dict, str, str]) -> None:
    found = _parse(loaded[1])
    for element, tag in ELEMENTS.items():
        assert found.tags.get(element) == tag, element


def test_text_shows_the_yearly_and_regime_figures(
    loaded: tuple[dict, str, str], folders: list[Path]
) -> None:
    """Figures recomputed here from the run folders, by definition, are on the page as read."""
    text = _parse(loaded[1]).text
    short = pd.read_parquet(folders[1] / "returns.parquet")["strategy"]
    start, end = short.index[0], short.index[-1]
    long = pd.read_parquet(folders[0] / "returns.parquet")["strategy"].loc[start:end]
    for bars in (long, short):
        for year in (start.year + 1, end.year):
            in_year = bars[bars.index.year == year]
            assert f"{np.prod(1 + in_year.to_numpy()) - 1:+.1%}" in text, year
    # a year the window does not span from 1 January to 31 December is marked partial
    marks = []
    if (start.month, start.day) != (1, 1):
        marks.append(f"{start.year} (partial: from {start:%m-%d})")
    if (end.month, end.day) != (12, 31):
        marks.append(f"{end.year} (partial: to {end:%m-%d})")
    assert text.count("(partial:") == len(marks)
    assert all(mark in text for mark in marks)
    # per regime, the full run's bars after its start up to its end: return and max drawdown
    full = pd.read_parquet(folders[0] / "returns.parquet")["strategy"]
    regimes = pd.read_csv(folders[0] / "regimes.csv")
    covered = regimes[regimes["coverage"] != "none"].to_dict("records")
    assert covered
    for row in covered:
        inside = full[(full.index > row["start"]) & (full.index <= row["end"])]
        wealth = np.cumprod(1 + inside.to_numpy())
        worst = np.min(wealth / np.maximum(np.maximum.accumulate(wealth), 1.0) - 1)
        growth = wealth[-1] - 1
        shown = f"{row['regime']} {row['start']} to {row['end']} {growth:+.1%}"
        assert f"{shown} {worst:+.1%}" in text, row["regime"]
    assert "turnover/yr" in text


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

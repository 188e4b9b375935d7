"""The tearsheet as a browser reads it: headless Chromium decodes it as UTF-8, its text has no
replacement characters or mojibake, the regime and metrics tables are in the body, and the
page throws nothing (quantstats' template called a `save()` that does not exist).

A screenshot of the page is left in test-artifacts/tearsheet.png (git-ignored) to look at.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.reports import tearsheet as report
from tests.page_browser import BASE_FLAGS, chromium, console_problems, need_chromium

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACT = REPO / "test-artifacts" / "tearsheet.png"
TIMEOUT_S = 90
# non-ASCII on purpose: a page decoded as windows-1252 shows these as "â€”", "âˆš", "Ã¼"
TITLE = "SYNTHETIC 60/40 — Sortino/√2, Zürich"
PROBE = """<script>window.addEventListener("load", () => {
  document.body.setAttribute("data-probe", JSON.stringify({
    charset: document.characterSet, heads: document.getElementsByTagName("head").length}));
});</script>"""


def _chromium(profile: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return chromium(profile, page.resolve(), *args, flags=BASE_FLAGS, timeout=TIMEOUT_S)


class _Dom(HTMLParser):
    """The visible text of a dumped DOM, the ids of its tables, and the probe's report."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.probe: dict | None = None
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "body" and values.get("data-probe"):
            self.probe = json.loads(str(values["data-probe"]))
        if tag in {"script", "style", "svg"}:
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "svg"} and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """A run's tearsheet with the per-regime table, as `playbook run` writes it."""
    need_chromium()
    rng = np.random.default_rng(3)
    index = pd.bdate_range("2020-01-01", periods=800)
    returns = pd.Series(rng.normal(0.0004, 0.01, len(index)), index=index)
    returns.iloc[300:450] = 0.0001  # in T-bills for a while
    exposure = pd.Series(1.0, index=index)
    exposure.iloc[300:450] = 0.0
    regimes = pd.DataFrame(
        [{"regime": "crash—2020", "description": "a fall", "start": "2020-02-19",
          "end": "2020-03-23", "coverage": "full", "return": -0.1, "max_drawdown": -0.15,
          "volatility": 0.4, "benchmark_return": -0.3}]
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tearsheet-browser")
    report.write_run_reports(
        folder,
        report.ReportInputs(
            returns=returns,
            benchmark=pd.Series(rng.normal(0.0003, 0.012, len(index)), index=index),
            cash=pd.Series(0.0001, index=index),
            exposure=exposure,
            title=TITLE,
            periods_per_year=252.0,
            benchmark_name="SPY",
            regimes=regimes,
        ),
    )
    return folder / "tearsheet.html"


def test_chromium_reads_the_tearsheet_as_utf8_without_mojibake(page, tmp_path):
    text = page.read_text(encoding="utf-8")
    probed = page.with_name("probed.html")
    probed.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    out = _chromium(tmp_path / "profile", probed, "--dump-dom")
    assert out.returncode == 0, out.stderr[-2000:]
    dom = _Dom()
    dom.feed(out.stdout)
    assert dom.probe == {"charset": "UTF-8", "heads": 1}
    shown = " ".join(" ".join(dom.text).split())
    assert TITLE in shown and "crash—2020" in shown
    for bad in ("\ufffd", "ï¹", "â€", "âˆ", "Ã"):
        assert bad not in shown, bad
    for words in ("Per regime", "Key Performance Metrics", "CAGR", "Sharpe", "Time in Market"):
        assert words in shown, words
    assert {"regimes", "eoy_returns", "rolling_sharpe"} <= dom.ids
    assert console_problems(out.stderr) == []


def test_a_screenshot_of_the_tearsheet_is_left_to_look_at(page, tmp_path):
    ARTIFACT.parent.mkdir(exist_ok=True)
    shot = tmp_path / "tearsheet.png"
    out = _chromium(tmp_path / "profile", page, f"--screenshot={shot}", "--window-size=1200,3000")
    assert out.returncode == 0 and shot.read_bytes().startswith(b"\x89PNG"), out.stderr[-2000:]
    shutil.copyfile(shot, ARTIFACT)

"""The run page and the sweep report in headless Chromium: they load offline with no console
errors, plotly draws every figure, nothing is fetched, and the text shows the decisions and
the verdict figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.config import RunConfig
from engine.pages.run import RUN_PAGE, write_run_page_for
from engine.workflow import run_to_folder
from tests.page_browser import console_problems, need_chromium, probed, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_chromium()
    return tmp_path_factory.mktemp("pages-browser")


@pytest.fixture(scope="module")
def run_page(workdir: Path) -> Path:
    folder, result = run_to_folder(
        RunConfig(strategy="hayes-pivot"), None, results_dir=workdir / "results", report=False
    )
    write_run_page_for(result, folder)
    return folder / RUN_PAGE


@pytest.fixture(scope="module")
def run_loaded(run_page: Path, workdir: Path) -> tuple[dict, str, str]:
    return probed(run_page, workdir)


def _text(dom: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", dom, flags=re.S))


def test_run_page_loads_offline_without_console_errors(run_loaded) -> None:
    report, _, stderr = run_loaded
    assert console_problems(stderr) == []
    assert report["fetched"] == []
    assert report["plots"] == ["run-chart", "contribution-chart"]
    assert report["drawn"] >= 2  # plotly drew its SVG layers for each figure


def test_run_page_shows_decisions_and_verdict(run_loaded, run_page: Path) -> None:
    _, dom, _ = run_loaded
    text = _text(dom)
    stats = json.loads((run_page.parent / "stats.json").read_text())
    assert f"{stats['cagr']:+.2%}" in text
    assert f"{stats['max_drawdown']:+.1%}" in text
    assert "Decisions and what each earned while in force" in text
    assert re.search(r"fed:\w+|signal:alarm", text), "no decision rule on the page"


def test_run_page_screenshot(run_page: Path, workdir: Path) -> None:
    shot = screenshot(run_page, workdir, workdir / "run.png", (1400, 2400))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

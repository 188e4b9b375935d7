"""The run page and the sweep report in headless Chromium: they load offline with no console
errors, plotly draws every figure, nothing is fetched, and the text shows the decisions and
the verdict figures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.reports.pages.run import RUN_PAGE, write_run_page_for
from engine.runs.config import RunConfig
from engine.workflows.run import run_to_folder
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


SWEEP_SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.5, 0.8]
  rebalance: [monthly, quarterly]
blocks: 6
split: {{oos_start: 2034-01-01}}
walk_forward: {{train_blocks: 2}}
heatmap: [stock_weight, rebalance]
"""


@pytest.fixture(scope="module")
def sweep_page(workdir: Path) -> Path:
    from engine.reports.pages.sweep import SWEEP_PAGE
    from engine.workflows.sweep import sweep_to_folder

    spec = workdir / "weights.yaml"
    repo = Path(__file__).resolve().parents[1]
    spec.write_text(SWEEP_SPEC.format(base=repo / "configs" / "60-40.yaml"))
    _, folder = sweep_to_folder(spec, out_dir=workdir / "sweep")
    return folder / SWEEP_PAGE


def test_sweep_page_loads_offline_without_console_errors(sweep_page: Path, workdir: Path) -> None:
    report, dom, stderr = probed(sweep_page, workdir)
    assert console_problems(stderr) == []
    assert report["fetched"] == []
    assert report["plots"] == ["surface-0", "in-out-chart"]
    assert report["drawn"] >= 2
    text = _text(dom)
    summary = json.loads((sweep_page.parent / "summary.json").read_text())
    assert f"Deflated Sharpe {summary['deflated_sharpe']:.3f}" in text
    assert f"PBO {summary['pbo']:.2f}" in text
    assert f"{summary['best']['max_drawdown']:+.1%}" in text
    assert f"{summary['best']['cagr']:+.2%}" in text
    assert "Walk-forward windows" in text


def test_docs_screenshot_stays_small(run_page: Path, workdir: Path) -> None:
    """engine.research.shots: the docs' screenshots are 256-colour PNGs under 300 KB."""
    from engine.research.shots import screenshot as docs_screenshot

    shot = docs_screenshot(run_page, workdir / "docs" / "run-page.png")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000

"""The scenario run's page (issue 20: every page checked in headless Chromium): it loads
offline with no console errors, fetches nothing, and its text shows the distribution's
figures, recomputed here from the paths' wealth curves by textbook definitions."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from engine.markets import generate_paths, load_scenario
from engine.reports.scenario import write_scenario_folder
from engine.runs.config import RunConfig
from engine.runs.paths import run_paths
from tests.page_browser import console_problems, need_chromium, probed

PATHS, SEED = 7, 5  # odd: the median is one path's figure


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    markets = generate_paths(load_scenario("ai-credit-crunch"), PATHS, seed=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic market's missing inputs, by design
        outcome = run_paths(config, markets, "ai-credit-crunch", SEED)
    return outcome, write_scenario_folder(outcome, tmp_path_factory.mktemp("scenario"), "test")


def _text(dom: str) -> str:
    return " ".join(
        re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", dom, flags=re.S)).split()
    )


@pytest.mark.browser
def test_scenario_page_loads_offline_and_shows_the_distribution(folder, tmp_path: Path) -> None:
    need_chromium()
    outcome, written = folder
    report, dom, stderr = probed(written / "scenario.html", tmp_path)
    assert console_problems(stderr) == []
    assert report["fetched"] == []
    text = _text(dom)
    wealth = outcome.wealth.to_numpy()  # bars x paths, growth of 1
    bench = outcome.benchmark_wealth.to_numpy()
    final = wealth[-1]
    years = (outcome.wealth.index[-1] - outcome.wealth.index[0]).days / 365.25
    # textbook: final wealth quantiles (linear interpolation), share of paths above the benchmark
    for q in (5, 50, 95):
        assert f"{np.percentile(final, q):.2f}x" in text, q
    assert f"{np.mean(final > bench[-1]):.0%}" in text
    # CAGR of the median path's final wealth (calendar years of the window, shown to 0.1%)
    median_cagr = np.percentile(final, 50) ** (1 / years) - 1
    shown = [float(m) / 100 for m in re.findall(r"([+-]\d+\.\d)%", text)]
    assert any(abs(s - median_cagr) < 0.0015 for s in shown), (median_cagr, shown[:12])
    assert f"SYNTHETIC scenario ai-credit-crunch: hayes-pivot on {PATHS} paths" in text

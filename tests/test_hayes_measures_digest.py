"""hayes-pivot's measures, pinned bit for bit: digests of `alarm_measures` (every measure's
float64 bytes, every warning's missing rows, the calendar) and the MissingInputWarning texts,
recorded before the measures were made cheaper per scenario path (issue 22), so a faster
computation is held to the same values, NaN bit patterns included, and the same warnings.

Panels: the synthetic config's, the same without HY/UNRATE (warnings unknown throughout),
the same with gaps punched into prices (rolling windows over NaN), two scenario paths, and
real history; each with the default symbols and with gold/Nasdaq read from other columns."""

from __future__ import annotations

import dataclasses
import hashlib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core import signals as sig
from engine.core.panel import Panel
from engine.core.signals import MissingInputWarning
from engine.markets import load_scenario
from engine.markets.generator import PathSequence
from engine.markets.source import MarketSource
from engine.runs.backtest import load_panel, prepare
from engine.runs.config import RunConfig, load_run_config
from strategies.hayes_pivot import HayesPivot, HayesPivotParams

REPO = Path(__file__).resolve().parents[1]
PARAMS = (
    HayesPivotParams(),
    HayesPivotParams(gold_symbol="KRE", nasdaq_symbol="XLY"),
)


def measures_digest(panel: Panel) -> tuple[str, list[str]]:
    """sha256 over the calendar, each measure's name, dtype and bytes and each warning's
    missing rows, for each of `PARAMS`; with the warning texts in the order raised."""
    h = hashlib.sha256()
    texts: list[str] = []
    for p in PARAMS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m = HayesPivot(p).measures(panel)
        texts += [f"{w.category.__name__}: {w.message}" for w in caught]
        h.update(m.index.asi8.tobytes())
        h.update(repr((m.index.dtype, m.index.name, m.index.freq)).encode())
        for group in (m.values, m.missing):
            for name, values in group.items():
                h.update(repr((name, values.dtype, values.shape)).encode())
                h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest(), texts


@pytest.fixture(scope="module")
def synthetic_panel() -> Panel:
    return prepare(load_run_config(REPO / "configs" / "hayes-pivot.yaml"))[1]


def with_gaps(panel: Panel) -> Panel:
    """Prices with NaN runs (shorter and longer than a window) and a late start."""
    prices = panel.prices.copy()
    rows = len(prices)
    for k, symbol in enumerate(("BTC-USD", "QQQ", "KRE", "XLP", "GLD", "AXP")):
        col = prices.columns.get_loc(symbol)
        prices.iloc[100 + 7 * k : 104 + 7 * k, col] = np.nan
        prices.iloc[rows // 2 : rows // 2 + 120 + 60 * k, col] = np.nan
    prices.iloc[:40, prices.columns.get_loc("IGV")] = np.nan
    return dataclasses.replace(panel, prices=prices)


def scenario_panels(count: int) -> list[Panel]:
    config = load_run_config(REPO / "configs" / "hayes-pivot.yaml")
    spec = load_scenario("ai-credit-crunch")
    strategy = HayesPivot(HayesPivotParams())
    symbols = [*strategy.universe(), *strategy.inputs().symbols, config.benchmark or "QQQ"]
    markets = PathSequence(spec, count, spec.seed, list(dict.fromkeys(symbols)))
    panels = []
    for path in range(count):
        source = MarketSource(markets[path], spec.name, spec.seed, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingInputWarning)
            panels.append(load_panel(config, strategy, source))
    return panels


# recorded at commit 2b3efc0, before the measures were made cheaper per path; the synthetic
# ones re-recorded (same code) when the generator annualized equity vol by 260.9 bars a year
SYNTHETIC = "81811346c6bcd917bef9f9273fecdae6a0c8383e9e174cbcffe2e11f0119c90d"
SYNTHETIC_NO_CREDIT = "82c732585eef7aaaadd8d9b23f0e71ecce08dd0c56a8081c1e36d927c8674a8d"
SYNTHETIC_GAPS = "cc58935ae6f61cdea5ae06c7f9db54be02eb892628dca707050bda70a6f151d0"
REAL = "957987b206344db512ba7a617eafd26f3469ba5a960c4d0d3a5c248f5f8387ab"
SCENARIO = "d3ef11f00889028330fe8aa60e9bea4dd1e1f5d26fb2bdbd0eabbc8c38733362"
SYNTHETIC_WARNINGS: list[str] = [
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 30 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: software_lagging has no data on 60 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: staples_over_discretionary has no data on 60 "
    "bars from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: lenders_over_borrowers has no data on 60 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data on 61 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: unemployment_rising has no data on 129 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 30 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: software_lagging has no data on 60 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: staples_over_discretionary has no data on 60 "
    "bars from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: lenders_over_borrowers has no data on 60 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data on 61 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: unemployment_rising has no data on 129 bars "
    "from 2030-01-01; dropped there",
]
NO_CREDIT_WARNINGS: list[str] = [
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 30 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: software_lagging has no data on 60 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: staples_over_discretionary has no data on 60 "
    "bars from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: lenders_over_borrowers has no data on 60 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data in the window; "
    "dropped from the score",
    "MissingInputWarning: hayes-pivot alarm: unemployment_rising has no data in the window; "
    "dropped from the score",
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 30 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: software_lagging has no data on 60 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: staples_over_discretionary has no data on 60 "
    "bars from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: lenders_over_borrowers has no data on 60 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data in the window; "
    "dropped from the score",
    "MissingInputWarning: hayes-pivot alarm: unemployment_rising has no data in the window; "
    "dropped from the score",
]
GAPS_WARNINGS: list[str] = [
    "MissingInputWarning: hayes-pivot alarm: btc_diverging_from_nasdaq has no data on 188 "
    "bars from 2030-04-11; dropped there",
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 398 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: software_lagging has no data on 284 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: staples_over_discretionary has no data on 364 "
    "bars from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: lenders_over_borrowers has no data on 524 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: regional_banks_drawdown has no data on 244 "
    "bars from 2030-04-25; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data on 61 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: unemployment_rising has no data on 129 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: btc_diverging_from_nasdaq has no data on 124 "
    "bars from 2030-04-11; dropped there",
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 278 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: software_lagging has no data on 284 bars from "
    "2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: staples_over_discretionary has no data on 364 "
    "bars from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: lenders_over_borrowers has no data on 524 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: regional_banks_drawdown has no data on 244 "
    "bars from 2030-04-25; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data on 61 bars "
    "from 2030-01-01; dropped there",
    "MissingInputWarning: hayes-pivot alarm: unemployment_rising has no data on 129 bars "
    "from 2030-01-01; dropped there",
]
REAL_WARNINGS: list[str] = [
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 30 bars from "
    "2014-09-17; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data on 8 bars from "
    "2026-08-13; dropped there",
    "MissingInputWarning: hayes-pivot alarm: gold_up_btc_down has no data on 30 bars from "
    "2014-09-17; dropped there",
    "MissingInputWarning: hayes-pivot alarm: hy_spreads_widening has no data on 8 bars from "
    "2026-08-13; dropped there",
]


def test_hayes_measures_match_recorded_digest(synthetic_panel: Panel) -> None:
    assert measures_digest(synthetic_panel) == (SYNTHETIC, SYNTHETIC_WARNINGS)


def test_hayes_measures_without_hy_unrate_match_recorded_digest(synthetic_panel: Panel) -> None:
    macro = synthetic_panel.macro.drop(columns=["BAMLH0A0HYM2", "UNRATE"])
    panel = dataclasses.replace(synthetic_panel, macro=macro)
    assert measures_digest(panel) == (SYNTHETIC_NO_CREDIT, NO_CREDIT_WARNINGS)


def test_hayes_measures_over_price_gaps_match_recorded_digest(synthetic_panel: Panel) -> None:
    assert measures_digest(with_gaps(synthetic_panel)) == (SYNTHETIC_GAPS, GAPS_WARNINGS)


def test_hayes_measures_on_scenario_paths_match_recorded_digest() -> None:
    digests = [measures_digest(panel)[0] for panel in scenario_panels(2)]
    assert hashlib.sha256("".join(digests).encode()).hexdigest() == SCENARIO


@pytest.mark.realdata
def test_hayes_measures_on_real_data_match_recorded_digest(shared_data: Path) -> None:
    base = load_run_config(REPO / "configs" / "hayes-pivot.yaml")
    data = base.data.model_copy(update={"source": "directory", "path": shared_data.resolve()})
    config = RunConfig.model_validate(base.model_copy(update={"data": data}).model_dump())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        panel = prepare(config)[1]
    assert measures_digest(panel) == (REAL, REAL_WARNINGS)


def test_liquidity_index_on_arrays_equals_it_on_series() -> None:
    """The measures read USD liquidity from arrays: Fed assets - TGA (millions) - RRP
    (billions, missing counts as zero), the same floats as on series."""
    rng = np.random.default_rng(7)
    walcl, tga, rrp = (rng.uniform(1e3, 9e6, 50) for _ in range(3))
    rrp[[0, 5, 6, 30]] = np.nan
    textbook = walcl / 1000.0 - tga / 1000.0 - pd.Series(rrp).fillna(0.0).to_numpy()
    series = [
        pd.Series(v, index=pd.date_range("2020-01-01", periods=50)) for v in (walcl, tga, rrp)
    ]
    np.testing.assert_array_equal(sig.liquidity_index(walcl, tga, rrp), textbook)
    np.testing.assert_array_equal(sig.liquidity_index(*series).to_numpy(), textbook)

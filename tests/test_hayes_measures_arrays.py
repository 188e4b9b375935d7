"""hayes-pivot's measures and signals on arrays equal the pandas formulation bit for bit.

The reference below is the rules written with pandas series (what `alarm_measures` and
`alarm_signals` computed before issue 22 moved them to arrays): rolling calendar-day windows,
the last value known `days` before each bar (forward filled), ratios and drawdowns, NaN where
an input is unknown. It is checked on real history, on scenario paths (the run that made the
rewrite worth it) and with random thresholds.
"""

from __future__ import annotations

import random
import warnings

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
from engine.runs.config import load_run_config
from strategies.hayes_pivot import (
    CONFIRMERS,
    FLAG_INPUTS,
    LEAD,
    SIGNAL_COLUMNS,
    HayesPivot,
    HayesPivotParams,
)
from tests.test_hayes_batch import REPO, random_params, real_config


def lag(series: pd.Series, days: int) -> pd.Series:
    """The last value known `days` calendar days before each bar."""
    known = series.ffill()
    before = series.index - pd.Timedelta(days=days)
    at = series.index.searchsorted(before, side="right") - 1
    values = [known.iloc[k] if k >= 0 else np.nan for k in at]
    return pd.Series(values, index=series.index, dtype="float64")


def change(series: pd.Series, days: int) -> pd.Series:
    return series / lag(series, days) - 1.0


def difference(series: pd.Series, days: int) -> pd.Series:
    return series - lag(series, days)


def fall_from_high(series: pd.Series, days: int) -> pd.Series:
    return series / series.rolling(f"{days}D", min_periods=1).max() - 1.0


def macro(panel: Panel, series_id: str) -> pd.Series:
    if series_id in panel.macro:
        return panel.macro[series_id]
    return pd.Series(np.nan, index=panel.macro.index)


def reference_signals(panel: Panel, p: HayesPivotParams) -> pd.DataFrame:
    """The rules with pandas series, as documented in strategies/hayes_pivot.py."""
    px = panel.prices
    btc, nasdaq, gold = px["BTC-USD"], px[p.nasdaq_symbol], px[p.gold_symbol]
    unrate = macro(panel, "UNRATE")
    liquidity = (
        macro(panel, "WALCL") / 1000.0
        - macro(panel, "WTREGEN") / 1000.0
        - macro(panel, "RRPONTSYD").fillna(0.0)
    )
    m = pd.DataFrame(
        {
            "btc_vs_nasdaq": fall_from_high(btc, 90) - fall_from_high(nasdaq, 90),
            "btc_30d": change(btc, 30),
            "gold_30d": change(gold, 30),
            "igv_vs_qqq": change(px["IGV"], 60) - change(px["QQQ"], 60),
            "staples": change(px["XLP"] / px["XLY"], 60),
            "axp_vs_igv": change(px["AXP"], 60) - change(px["IGV"], 60),
            "kre": fall_from_high(px["KRE"], 365),
            "hy_60d": difference(macro(panel, "BAMLH0A0HYM2"), 60),
            "unrate_rise": unrate - unrate.rolling("365D", min_periods=1).min(),
            "unrate_91d": difference(unrate, 91),
            "liquidity_91d": change(liquidity, 91),
            "btc_off_low": btc / btc.rolling("90D", min_periods=1).min() - 1.0,
            "nasdaq_30d": change(nasdaq, 30),
        },
        index=px.index,
    )
    on = {
        LEAD: m["btc_vs_nasdaq"] < -p.btc_divergence_pct / 100,
        "gold_up_btc_down": (m["gold_30d"] > 0) & (m["btc_30d"] < -p.btc_drop_pct / 100),
        "software_lagging": m["igv_vs_qqq"] < -p.igv_lag_pct / 100,
        "staples_over_discretionary": m["staples"] > p.staples_rise_pct / 100,
        "lenders_over_borrowers": m["axp_vs_igv"] > p.lender_lead_pct / 100,
        "regional_banks_drawdown": m["kre"] < -p.kre_drawdown_pct / 100,
        "hy_spreads_widening": m["hy_60d"] > p.hy_widening_pts,
        "unemployment_rising": (m["unrate_rise"] >= p.unrate_rise_pts) & (m["unrate_91d"] > 0),
    }
    frame = pd.DataFrame(
        {
            name: cond.astype("float64").mask(m[list(FLAG_INPUTS[name])].isna().any(axis=1))
            for name, cond in on.items()
        }
    )
    frame["confirmed"] = frame[list(CONFIRMERS)].fillna(0.0).sum(axis=1)
    lead = frame[LEAD].fillna(0.0) == 1.0
    frame["alarm"] = (lead & (frame["confirmed"] >= p.confirmations)).astype("float64")
    turn = m["liquidity_91d"] > p.liquidity_turn_pct / 100
    frame["pivot"] = (turn & p.data_pivots).astype("float64")
    at_low = m["btc_off_low"] <= p.btc_low_pct / 100
    down = ~at_low & (m["nasdaq_30d"] < 0)
    case = pd.Series(np.where(at_low, 2.0, np.where(down, 1.0, 0.0)), index=px.index)
    frame["btc_case"] = case.where(m["btc_off_low"].notna(), 0.0)
    return frame


def assert_same_signals(panel: Panel, params: list[HayesPivotParams]) -> None:
    for p in params:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingInputWarning)
            got = HayesPivot(p).signals(panel)
        assert list(got.columns) == list(SIGNAL_COLUMNS)
        pd.testing.assert_frame_equal(got, reference_signals(panel, p), check_exact=True)


def some_params(count: int, seed: int) -> list[HayesPivotParams]:
    rng = random.Random(seed)
    return [HayesPivotParams(), *(random_params(rng) for _ in range(count))]


@pytest.mark.realdata
def test_hayes_signals_on_arrays_equal_the_pandas_rules_on_real_history(shared_data):
    for name in ("hayes-pivot.yaml", "hayes-pivot-alts.yaml"):
        _, panel = prepare(real_config(shared_data, name))
        assert_same_signals(panel, some_params(6, seed=22))


def test_hayes_signals_on_arrays_equal_the_pandas_rules_on_scenario_paths():
    config = load_run_config(REPO / "configs" / "hayes-pivot.yaml")
    spec = load_scenario("ai-credit-crunch")
    strategy = HayesPivot(HayesPivotParams())
    symbols = [*strategy.universe(), *strategy.inputs().symbols, *[config.benchmark or "QQQ"]]
    markets = PathSequence(spec, 4, spec.seed, list(dict.fromkeys(symbols)))
    for path in range(len(markets)):
        source = MarketSource(markets[path], spec.name, spec.seed, path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingInputWarning)
            panel = load_panel(config, strategy, source)
        assert_same_signals(panel, some_params(3, seed=path))


def test_hayes_measures_warn_as_before_about_missing_inputs(panel_factory):
    """The arrays warn once per warning with a gap in the window, with the same message."""
    index = pd.date_range("2020-01-01", periods=200, freq="D")
    prices = {s: list(np.linspace(100, 80, 200)) for s in ("BTC-USD", "QQQ", "GLD")}
    prices.update({s: list(np.linspace(50, 60, 200)) for s in ("IGV", "XLP", "XLY", "AXP")})
    prices["KRE"] = list(np.linspace(40, 30, 200))
    panel = panel_factory(prices, index=index)
    with pytest.warns(MissingInputWarning) as caught:
        HayesPivot(HayesPivotParams()).signals(panel)
    text = [str(w.message) for w in caught]
    assert any("hy_spreads_widening has no data in the window" in t for t in text)
    assert any("unemployment_rising has no data in the window" in t for t in text)
    assert not any("btc_diverging_from_nasdaq" in t for t in text)


@pytest.mark.parametrize("unit", ["ns", "us", "s"])
def test_lag_rows_are_the_last_bar_on_or_before_days_earlier(unit):
    """Counted in the calendar's own unit: the row a by-date lookup finds (weekend gaps)."""
    index = pd.date_range("2020-01-01", periods=400, freq="B").as_unit(unit).delete([3, 50])
    for days in (1, 30, 91, 365):
        want = [
            max((k for k, t in enumerate(index) if t <= day - pd.Timedelta(days=days)), default=-1)
            for day in index
        ]
        np.testing.assert_array_equal(sig.lag_rows(index, days), want)


def test_missing_warnings_from_arrays_equal_those_from_a_frame():
    index = pd.date_range("2024-01-01", periods=10, freq="D")
    frame = pd.DataFrame(
        {
            "none": [np.nan] * 10,
            "late": [np.nan] * 3 + [1.0] * 7,
            "gap": [1.0] * 6 + [np.nan] * 2 + [1.0] * 2,
            "full": [1.0] * 10,
        },
        index=index,
    )
    for since in (None, index[4]):
        with pytest.warns(MissingInputWarning) as from_frame:
            sig.warn_missing(frame, "x", since)
        missing = {name: frame[name].isna().to_numpy() for name in frame.columns}
        with pytest.warns(MissingInputWarning) as from_rows:
            sig.warn_missing_rows(index, missing, "x", since)
        assert [str(w.message) for w in from_rows] == [str(w.message) for w in from_frame]

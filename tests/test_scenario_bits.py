"""Issue 22: the scenario engine's speed-ups keep every figure bit for bit.

The golden figures below are a 3-path hayes-pivot run (seed 11, chunks of 2, benchmark
BTC-USD) recorded at c90cfef, before the price tables, accrual indexes and cash returns were
built on arrays instead of pandas objects (re-recorded, same pipeline, when the generator's
equity vol moved from sqrt(252) to sqrt(260.9 bars a year)): every later change to the
scenario pipeline must reproduce them exactly (digests of the float64 bytes of the per-path
table, the wealth curves and the median path's series). The helpers those changes
introduced are held to the pandas definitions they replace, written out here.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from engine.markets import generate_paths, load_scenario
from engine.runs.config import RunConfig
from engine.runs.paths import run_paths

GOLDEN = {
    "final_wealth": [3.919093551765683, 5.271594536226822, 6.492136405328763],
    "sharpe": [0.8836161288444129, 1.0825064413877024, 1.0873093081610223],
    "max_drawdown": [-0.24492091449185116, -0.3483249970372696, -0.3646183899058347],
    "benchmark_final_wealth": [7.74015930224129, 12.184717644147174, 4.812767997505683],
}
PER_PATH_SHA = "1d73a08243412be3119cb4f7b7c6deb522c333314953af76550d0160da386cea"
WEALTH_SHA = "d13b6fe0cc6983892e7bd7a3812b09370a8540d8f5ee2a876d39b1637fb42c05"
MEDIAN_SHA = "662dc2cbb57bc249fdf3d222da809d19e9ac1f6cb293ccf3f13f293e81a2dff3"


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()


def test_scenario_figures_equal_the_golden_run_bit_for_bit():
    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    markets = generate_paths(load_scenario("ai-credit-crunch"), 3, seed=11)
    outcome = run_paths(config, markets, "ai-credit-crunch", 11, chunk_paths=2)
    for key, values in GOLDEN.items():
        assert outcome.per_path[key].tolist() == values, key
    assert outcome.benchmark_wealth is not None and outcome.median_benchmark is not None
    assert _digest(outcome.per_path.to_numpy()) == PER_PATH_SHA
    assert _digest(outcome.wealth.to_numpy(), outcome.benchmark_wealth.to_numpy()) == WEALTH_SHA
    assert outcome.median_path == 1
    series = (outcome.median_returns, outcome.median_benchmark, outcome.median_cash)
    assert _digest(*(s.to_numpy() for s in series)) == MEDIAN_SHA


def _calendar() -> pd.DatetimeIndex:
    days = pd.date_range("2030-01-01", periods=40, freq="D", unit="us")
    return days[[0, 1, 2, 5, 6, 7, 8, 12, 13, 20, 21, 22, 30, 31, 39]]  # uneven gaps


def test_accrual_index_equals_its_pandas_definition():
    from engine.core.simulate import accrual_index

    index = _calendar()
    rate = pd.Series(np.linspace(0.01, 0.06, len(index)), index=index)
    rate.iloc[[4, 9]] = np.nan  # a missing rate grows at the first bar's
    days = rate.index.to_series().diff().dt.days.fillna(0).to_numpy()
    prior = rate.shift(1).fillna(rate.iloc[0]).to_numpy()
    expected = pd.Series(np.cumprod(np.power(1.0 + prior, days / 365.0)), index=index)
    pd.testing.assert_series_equal(accrual_index(rate), expected, check_exact=True)


def test_cash_returns_equal_their_pandas_definition():
    import dataclasses

    from engine.core.simulate import accrual_index
    from engine.runs.backtest import cash_returns
    from engine.runs.batch import SharedPanel

    config = RunConfig(strategy="hayes-pivot")
    markets = generate_paths(load_scenario("ai-credit-crunch"), 1, seed=11)
    outcome_panel = _panel(config, markets[0])
    window = outcome_panel.index[100:]
    expected = accrual_index(outcome_panel.cash_rate).pct_change().fillna(0.0).loc[window]
    pd.testing.assert_series_equal(cash_returns(outcome_panel, window), expected, check_exact=True)
    panel = dataclasses.replace(outcome_panel, window_start=window[0])
    np.testing.assert_array_equal(SharedPanel.of(panel).cash, expected.to_numpy())


def _panel(config: RunConfig, market):
    from engine.markets.source import MarketSource
    from engine.runs.backtest import load_panel, make_strategy

    source = MarketSource(market, "ai-credit-crunch", 11)
    return load_panel(config, make_strategy(config), source)


def test_price_tables_fill_like_pandas_bfill_then_ffill():
    from engine.core.simulate import _fill_forward

    rng = np.random.default_rng(3)
    values = rng.normal(size=(3, 12, 4))
    values[0, :5, 0] = np.nan  # listed late
    values[1, 7:, 1] = np.nan  # delisted
    values[2, [2, 3, 9], 2] = np.nan  # gaps
    values[2, :, 3] = np.nan  # never priced
    for k in range(3):
        frame = pd.DataFrame(values[k])
        back = _fill_forward(values[:, ::-1])[:, ::-1]
        np.testing.assert_array_equal(back[k], frame.bfill().to_numpy())
        np.testing.assert_array_equal(_fill_forward(back)[k], frame.bfill().ffill().to_numpy())


def test_chunk_benchmark_rows_equal_benchmark_returns_per_path():
    import dataclasses
    from types import SimpleNamespace

    from engine.runs.backtest import benchmark_returns
    from engine.runs.batch import SharedPanel
    from engine.runs.paths import _benchmark_rows

    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    markets = generate_paths(load_scenario("ai-credit-crunch"), 2, seed=11)
    shares = []
    for k, market in enumerate(markets):
        panel = _panel(config, market)
        prices = panel.prices.copy()
        prices.iloc[[300 + k, 301 + k, 900], prices.columns.get_loc("BTC-USD")] = np.nan
        start = panel.index[299]  # a missing price on the window's second bar
        shares.append(SharedPanel.of(dataclasses.replace(panel, prices=prices, window_start=start)))
    found = _benchmark_rows(config, SimpleNamespace(shares=shares))  # type: ignore[arg-type]
    for k, shared in enumerate(shares):
        expected = benchmark_returns(config, shared.panel, shared.window)
        assert expected is not None
        np.testing.assert_array_equal(found[k], expected.to_numpy())


def test_paths_of_some_symbols_equal_the_full_markets_prices():
    """The generator works out log prices only for the assets asked for (and the bond the
    macro series read); every asset's shocks are still drawn, so each price is the one the
    full market has, bit for bit."""
    scenario = load_scenario("ai-credit-crunch")
    full = generate_paths(scenario, 4, seed=7)
    some = generate_paths(scenario, 4, seed=7, symbols=["QQQ", "BTC-USD"])
    for whole, part in zip(full, some, strict=True):
        assert set(part.prices) == {"QQQ", "BTC-USD"}
        for symbol, frame in part.prices.items():
            pd.testing.assert_frame_equal(frame, whole.prices[symbol], check_exact=True)
        for series_id, series in part.macro.items():
            pd.testing.assert_series_equal(series, whole.macro[series_id], check_exact=True)

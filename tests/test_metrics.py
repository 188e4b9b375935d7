"""Metrics: known answers by hand, and the sweep's column-wise table equal to `summary`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.core import metrics

DAYS = pd.date_range("2024-01-01", periods=6, freq="D")


def test_known_answers_by_hand():
    returns = pd.Series([0.10, -0.50, 0.20, 0.0, 0.25, 0.0], index=DAYS)
    s = metrics.summary(returns, 365)
    assert s["total_return"] == pytest.approx(1.1 * 0.5 * 1.2 * 1.25 - 1)  # -0.175
    assert s["max_drawdown"] == pytest.approx(0.55 / 1.1 - 1)  # peak 1.1, trough 0.55: -50%
    years = 6 / 365.25  # six daily bars, counted from the first bar's open
    assert s["cagr"] == pytest.approx(0.825 ** (1 / years) - 1)
    assert s["volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(365))
    assert s["calmar"] == pytest.approx(s["cagr"] / 0.5)


def frame(columns: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=DAYS[: len(next(iter(columns.values())))])


CASES = {
    "random": None,
    "flat": frame({"a": [0.0] * 6, "b": [0.01] * 6}),
    "wiped-out": frame({"a": [0.1, -1.0, 0.0, 0.0, 0.0, 0.0], "b": [0.0, 0.1, 0.0, 0.2, -0.1, 0]}),
    "one-bar": frame({"a": [0.05], "b": [-0.05]}),
    "only-gains": frame({"a": [0.01, 0.02, 0.03, 0.01, 0.02, 0.03]}),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("with_rf", [False, True])
def test_summary_table_equals_summary_column_by_column(name, with_rf):
    returns = CASES[name]
    if returns is None:
        rng = np.random.default_rng(3)
        index = pd.date_range("2020-01-01", periods=500, freq="B")
        returns = pd.DataFrame(rng.normal(0.0004, 0.01, (500, 7)), index=index)
    rf = pd.Series(0.0001, index=returns.index) if with_rf else None
    table = metrics.summary_table(returns, 252, rf)
    assert list(table.index) == list(returns.columns)
    for column in returns.columns:
        want = metrics.summary(returns[column], 252, rf)
        got = table.loc[column]
        for key, value in want.items():
            if math.isnan(value):
                assert math.isnan(got[key]), (key, got[key])
            else:
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_summary_table_of_no_bars():
    table = metrics.summary_table(pd.DataFrame({"a": []}, dtype="float64"), 252)
    want = metrics.summary(pd.Series([], dtype="float64"), 252)
    for key, value in want.items():
        got = table.loc["a", key]
        assert (math.isnan(value) and math.isnan(got)) or got == value, key


# --- annualization from the window's own bars (issue 14) ------------------------------

WEEKDAYS = pd.bdate_range("2020-01-01", "2021-12-31")  # two years of weekday-only bars
EVERY_DAY = pd.date_range("2022-01-01", "2023-12-31")  # then two years of 7-day bars


def textbook(returns: pd.Series, cash: pd.Series) -> dict[str, float]:
    """CAGR over calendar time, vol and Sharpe scaled by the bars per calendar year."""
    index = pd.DatetimeIndex(returns.index)
    days = (index[-1] - index[0] + (index[1] - index[0])).days  # from the first bar's open
    years = days / 365.25
    bars_a_year = len(returns) / years
    excess = returns - cash
    return {
        "cagr": float(np.prod(1 + returns.to_numpy()) ** (1 / years) - 1),
        "volatility": float(returns.std(ddof=1) * np.sqrt(bars_a_year)),
        "sharpe": float(excess.mean() / excess.std(ddof=1) * np.sqrt(bars_a_year)),
        "periods_per_year": bars_a_year,
    }


def test_periods_per_year_counts_the_windows_bars_per_calendar_year():
    assert metrics.periods_per_year(EVERY_DAY) == pytest.approx(365.25, rel=1e-12)
    # 2021 on an exchange calendar: weekdays less NYSE's 9 holidays that year (252 bars)
    holidays = pd.DatetimeIndex(
        [
            *("2021-01-01", "2021-01-18", "2021-02-15", "2021-04-02", "2021-05-31"),
            *("2021-07-05", "2021-09-06", "2021-11-25", "2021-12-24"),
        ]
    )
    nyse = pd.bdate_range("2021-01-01", "2021-12-31").difference(holidays)
    assert len(nyse) == 252
    span = (nyse[-1] - nyse[0] + (nyse[1] - nyse[0])).days / 365.25
    assert metrics.periods_per_year(nyse) == pytest.approx(252 / span, rel=1e-12)
    mixed = metrics.periods_per_year(WEEKDAYS.append(EVERY_DAY))
    assert 261 < mixed < 365  # in between: the window's true average spacing


def test_periods_per_year_of_empty_or_one_bar_windows_is_nan():
    assert math.isnan(metrics.periods_per_year(pd.DatetimeIndex([])))
    assert math.isnan(metrics.periods_per_year(EVERY_DAY[:1]))
    assert metrics.periods_per_year(EVERY_DAY[:2]) == pytest.approx(365.25)


def test_mixed_calendar_not_annualized_as_365_periods():
    """Weekday bars for two years, then 7-day bars: stats.json figures from calendar time."""
    from engine.data.sources import FrameSource
    from engine.runs.backtest import run_backtest
    from engine.runs.config import RunConfig

    rng = np.random.default_rng(14)
    gold_days = pd.bdate_range("2020-01-01", "2023-12-31")
    gold = pd.Series(100 * np.cumprod(1 + rng.normal(4e-4, 0.01, len(gold_days))), gold_days)
    btc = pd.Series(100 * np.cumprod(1 + rng.normal(1e-3, 0.03, len(EVERY_DAY))), EVERY_DAY)
    config = RunConfig.model_validate(
        {
            "strategy": "buy-and-hold",
            "params": {"symbol": "GLD"},
            "universe": ["GLD", "BTC-USD"],  # BTC's 7-day bars join the calendar in 2022
            "start": "2020-01-01",
            "benchmark": None,
            "costs": {"cash_rate_pct": 2.0},
        }
    )
    result = run_backtest(config, source=FrameSource({"GLD": gold, "BTC-USD": btc}))
    returns, cash = result.returns, result.cash_returns
    assert (returns.index[:300].day_of_week < 5).all() and len(returns) > 1200
    want = textbook(returns, cash)
    assert result.periods_per_year == pytest.approx(want["periods_per_year"], rel=1e-12)
    assert result.stats["periods_per_year"] == pytest.approx(want["periods_per_year"], rel=1e-12)
    for key in ("cagr", "volatility", "sharpe"):
        assert result.stats[key] == pytest.approx(want[key], rel=1e-9), key
    # the old rule (365 whenever a weekend bar exists) overstated volatility by ~8%
    assert result.stats["volatility"] < returns.std(ddof=1) * np.sqrt(365) * 0.95


def test_mixed_calendar_summary_table_agrees_with_textbook():
    """The sweep's numba table, handed the window's periods, gives the textbook figures."""
    rng = np.random.default_rng(7)
    index = WEEKDAYS.append(EVERY_DAY)
    returns = pd.DataFrame(rng.normal(5e-4, 0.01, (len(index), 3)), index=index)
    cash = pd.Series(5e-5, index=index)
    table = metrics.summary_table(returns, metrics.periods_per_year(index), cash)
    for column in returns.columns:
        want = textbook(returns[column], cash)
        for key in ("cagr", "volatility", "sharpe"):
            assert table.loc[column, key] == pytest.approx(want[key], rel=1e-12), key


def test_years_not_counted_from_the_weekend_before_a_friday_start() -> None:
    """A window opening on a Friday spans from Thursday's close, not from the Tuesday before."""
    friday_start = pd.DatetimeIndex(["2024-01-05", "2024-01-08", "2024-01-09"])
    days = (friday_start[-1] - friday_start[0]).days + 1  # from the day before the first bar
    assert metrics.years(friday_start) == pytest.approx(days / 365.25)
    assert metrics.periods_per_year(friday_start) == pytest.approx(3 / (days / 365.25))


def test_every_summary_figure_agrees_with_textbook():
    """One implementation (the kernel) behind `summary` and `summary_table`: held to the
    textbook definitions here, written with pandas/numpy, figure by figure."""
    rng = np.random.default_rng(7)
    index = pd.date_range("2020-01-01", periods=400, freq="B")
    returns = pd.Series(rng.normal(0.0004, 0.012, 400), index=index)
    cash = pd.Series(0.00012, index=index)
    ppy = 252.0
    days = (index[-1] - index[0] + pd.Timedelta(days=1)).days
    excess = returns - cash
    wealth = (1 + returns).cumprod()
    worst = float((wealth / np.maximum(wealth.cummax(), 1.0) - 1).min())
    growth = float(np.prod(1 + returns.to_numpy()))
    cagr = growth ** (365.25 / days) - 1
    want = {
        "total_return": growth - 1,
        "cagr": cagr,
        "volatility": returns.std(ddof=1) * math.sqrt(ppy),
        "sharpe": excess.mean() / excess.std(ddof=1) * math.sqrt(ppy),
        "sortino": excess.mean() / math.sqrt((np.minimum(excess, 0) ** 2).mean()) * math.sqrt(ppy),
        "max_drawdown": worst,
        "calmar": cagr / abs(worst),
        "final_wealth": growth,
    }
    got = metrics.summary(returns, ppy, cash)
    table = metrics.summary_table(returns.to_frame("a"), ppy, cash).loc["a"]
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
        assert table[key] == got[key], key
    assert metrics.sharpe(returns, ppy, cash) == got["sharpe"]
    assert metrics.max_drawdown(returns) == got["max_drawdown"]
    assert metrics.cagr(returns) == got["cagr"]

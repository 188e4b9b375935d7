"""The embedded default market: its data contract, determinism, and the story it must tell."""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import (
    BOOM,
    CALM,
    CRUNCH,
    DEFAULT_SEED,
    END,
    PHASES,
    PIVOT,
    PIVOT_DATE,
    RALLY,
    SCENARIO_NAME,
    START,
    SyntheticMarket,
    generate_default_market,
)

CRYPTO = ["BTC-USD", "ETH-USD", "ZEC-USD", "HYPE-USD"]
EQUITIES = [
    "SPY",
    "QQQ",
    "TLT",
    "GLD",
    "IGV",
    "XLP",
    "XLY",
    "KRE",
    "AXP",
    "NVDA",
    "^NDX",
    "GC=F",
    "BIL",
]
MACRO = [
    "WALCL",
    "WTREGEN",
    "RRPONTSYD",
    "M2SL",
    "WM2NS",
    "DTB3",
    "DFF",
    "FEDFUNDS",
    "BAMLH0A0HYM2",
    "DTWEXBGS",
    "DGS10",
    "DGS2",
    "UNRATE",
]
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
REFERENCE_KINDS = {
    "emergency_cut",
    "first_hike",
    "last_hike",
    "emergency_facility",
    "first_cut",
    "crisis",
    "qe_start",
    "cut",
    "tightening_signal",
    "taper",
    "qt_start",
    "balance_sheet_pivot",
    "qt_taper",
}
STORY_SEEDS = [DEFAULT_SEED, 1, 2, 3, 4, 5]


@cache
def market(seed: int = DEFAULT_SEED) -> SyntheticMarket:
    return generate_default_market(seed)


def price(seed: int, symbol: str) -> pd.Series:
    return market(seed).prices[symbol]["adj_close"]


def between(series: pd.Series, start: str, end: str) -> pd.Series:
    return series.loc[pd.Timestamp(start) : pd.Timestamp(end)]


def max_drawdown(series: pd.Series) -> float:
    return float((series / series.cummax() - 1.0).min())


def last_on_or_before(series: pd.Series, when: pd.Timestamp) -> float:
    return float(series.loc[:when].iloc[-1])


def liquidity_index(m: SyntheticMarket) -> pd.Series:
    """Hayes's USD liquidity index in billions, on WALCL's Wednesdays."""
    walcl = m.macro["WALCL"]
    tga = m.macro["WTREGEN"].reindex(walcl.index)
    rrp = m.macro["RRPONTSYD"].reindex(walcl.index, method="ffill")
    return walcl / 1000.0 - tga / 1000.0 - rrp


# --- determinism --------------------------------------------------------------------------------


def test_same_seed_is_bit_identical() -> None:
    first, second = generate_default_market(7), generate_default_market(7)
    assert first.prices.keys() == second.prices.keys()
    for symbol in first.prices:
        pd.testing.assert_frame_equal(first.prices[symbol], second.prices[symbol], check_exact=True)
    assert first.macro.keys() == second.macro.keys()
    for series_id in first.macro:
        pd.testing.assert_series_equal(
            first.macro[series_id], second.macro[series_id], check_exact=True
        )
    pd.testing.assert_frame_equal(first.events, second.events)
    pd.testing.assert_frame_equal(first.regimes, second.regimes)
    assert first.description == second.description


def test_default_seed_is_the_default() -> None:
    pd.testing.assert_frame_equal(
        generate_default_market().prices["BTC-USD"],
        market(DEFAULT_SEED).prices["BTC-USD"],
        check_exact=True,
    )


def test_other_seed_changes_the_path_but_not_the_story() -> None:
    a, b = market(1), market(2)
    assert not np.allclose(a.prices["BTC-USD"]["close"], b.prices["BTC-USD"]["close"])
    assert not np.allclose(a.prices["KRE"]["close"], b.prices["KRE"]["close"])
    assert not np.allclose(a.macro["BAMLH0A0HYM2"], b.macro["BAMLH0A0HYM2"])
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.regimes, b.regimes)
    # Phase returns are fixed by the scenario: closes at each phase end agree across seeds.
    for symbol in ("BTC-USD", "QQQ", "KRE", "GLD"):
        ends_a = [last_on_or_before(a.prices[symbol]["close"], pd.Timestamp(p.end)) for p in PHASES]
        ends_b = [last_on_or_before(b.prices[symbol]["close"], pd.Timestamp(p.end)) for p in PHASES]
        np.testing.assert_allclose(ends_a, ends_b, rtol=1e-9)


def test_generation_is_fast() -> None:
    best = np.inf
    for _ in range(3):
        started = time.perf_counter()
        generate_default_market(11)
        best = min(best, time.perf_counter() - started)
    assert best < 0.5


# --- data contract ------------------------------------------------------------------------------


def test_symbol_set() -> None:
    assert sorted(market().prices) == sorted(CRYPTO + EQUITIES)
    assert sorted(market().macro) == sorted(MACRO)
    assert SCENARIO_NAME == "default-ai-credit-cycle"


@pytest.mark.parametrize("symbol", CRYPTO + EQUITIES)
def test_price_frame_contract(symbol: str) -> None:
    frame = market().prices[symbol]
    assert list(frame.columns) == PRICE_COLUMNS
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    index = frame.index
    assert isinstance(index, pd.DatetimeIndex)
    assert index.name == "date"
    assert index.tz is None
    assert (index == index.normalize()).all()
    assert index.is_monotonic_increasing and index.is_unique
    last_bar = END if symbol in CRYPTO else pd.date_range(START, END, freq="B")[-1]
    assert index[0] >= START and index[-1] == last_bar
    assert not frame.isna().any().any()
    assert (frame[["open", "high", "low", "close", "adj_close"]] > 0).all().all()
    assert (frame["volume"] > 0).all()
    pd.testing.assert_series_equal(frame["adj_close"], frame["close"], check_names=False)


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 3])
@pytest.mark.parametrize("symbol", CRYPTO + EQUITIES)
def test_ohlc_invariants(seed: int, symbol: str) -> None:
    frame = market(seed).prices[symbol]
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["low"] > 0).all()
    # Bars are plausible: a typical day's range is at most a few percent (alts: about ten).
    day_range = frame["high"] / frame["low"] - 1.0
    assert 0.0 < day_range.median() < 0.12
    assert day_range.max() < 2.0


@pytest.mark.parametrize("symbol", CRYPTO)
def test_crypto_trades_every_calendar_day(symbol: str) -> None:
    index = market().prices[symbol].index
    expected = pd.date_range(index[0], END, freq="D")
    assert index.equals(pd.DatetimeIndex(expected, name="date"))
    assert (index.day_of_week >= 5).sum() > 600


@pytest.mark.parametrize("symbol", EQUITIES)
def test_equities_trade_business_days_only(symbol: str) -> None:
    index = market().prices[symbol].index
    assert (index.day_of_week < 5).all()
    assert index.equals(pd.DatetimeIndex(pd.date_range(START, END, freq="B"), name="date"))


def test_hype_starts_later_than_the_other_crypto() -> None:
    firsts = {s: market().prices[s].index[0] for s in CRYPTO}
    assert firsts["HYPE-USD"] == pd.Timestamp("2031-06-01")
    assert all(firsts[s] == START for s in ("BTC-USD", "ETH-USD", "ZEC-USD"))


def test_macro_contract() -> None:
    macro = market().macro
    for series_id, series in macro.items():
        assert series.name == series_id
        assert series.dtype == np.float64
        assert isinstance(series.index, pd.DatetimeIndex) and series.index.name == "date"
        assert series.index.is_monotonic_increasing and series.index.is_unique
        assert not series.isna().any()
    for weekly in ("WALCL", "WTREGEN"):
        assert (macro[weekly].index.day_of_week == 2).all()
    assert (macro["WM2NS"].index.day_of_week == 0).all()
    for monthly in ("M2SL", "FEDFUNDS", "UNRATE"):
        assert (macro[monthly].index.day == 1).all() and len(macro[monthly]) == 96
    for daily in ("RRPONTSYD", "DTB3", "BAMLH0A0HYM2", "DTWEXBGS", "DGS10", "DGS2"):
        assert (macro[daily].index.day_of_week < 5).all() and len(macro[daily]) == 2088
    assert len(macro["DFF"]) == 2922


def test_macro_units_are_fred_units() -> None:
    macro = market().macro
    expected = {
        "WALCL": (6.5e6, 1.0e7),  # USD millions
        "WTREGEN": (3.0e5, 1.0e6),  # USD millions
        "RRPONTSYD": (0.0, 2500.0),  # USD billions
        "M2SL": (21_000.0, 30_000.0),  # USD billions
        "WM2NS": (21_000.0, 30_000.0),
        "DTWEXBGS": (100.0, 140.0),  # index
    }
    expected |= {
        rate: (0.01, 15.0)
        for rate in ("DTB3", "DFF", "FEDFUNDS", "DGS10", "DGS2", "UNRATE", "BAMLH0A0HYM2")
    }  # percent
    for series_id, (low, high) in expected.items():
        series = macro[series_id]
        assert series.between(low, high).all(), (series_id, series.min(), series.max())


def test_events_calendar() -> None:
    events = market().events
    assert list(events.columns) == ["date", "kind", "description"]
    assert pd.api.types.is_datetime64_any_dtype(events["date"])
    assert events["date"].is_monotonic_increasing
    assert set(events["kind"]) <= REFERENCE_KINDS
    by_kind = events.groupby("kind")["date"].apply(list)
    boom = (pd.Timestamp(BOOM.start), pd.Timestamp(BOOM.end))
    assert any(boom[0] <= d <= boom[1] for d in by_kind["first_hike"])
    assert any(boom[0] <= d <= boom[1] for d in by_kind["last_hike"])
    facility = by_kind["emergency_facility"][0]
    assert facility == PIVOT_DATE and facility.day_name() == "Sunday"
    pivot_month = (pd.Timestamp(PIVOT.start), pd.Timestamp(PIVOT.end))
    assert pivot_month[0] <= by_kind["emergency_cut"][0] <= pivot_month[1]
    assert pivot_month[0] <= by_kind["qe_start"][0] <= pivot_month[1]
    assert (events["description"].str.len() > 10).all()


def test_regimes_cover_the_calendar_without_gaps() -> None:
    regimes = market().regimes
    assert list(regimes.columns) == ["name", "start", "end", "description"]
    assert list(regimes["name"]) == [p.name for p in PHASES]
    assert regimes["start"].iloc[0] == START and regimes["end"].iloc[-1] == END
    gaps = regimes["start"].iloc[1:].to_numpy() - regimes["end"].iloc[:-1].to_numpy()
    assert (gaps == np.timedelta64(1, "D")).all()
    assert "2032-10-03" in market().description


def test_rates_and_cash_agree() -> None:
    macro, bil = market().macro, price(DEFAULT_SEED, "BIL")
    assert bil.is_monotonic_increasing
    year = between(bil, "2031-01-01", "2031-12-31")
    accrued = year.iloc[-1] / year.iloc[0] - 1.0
    mean_bill = between(macro["DTB3"], "2031-01-01", "2031-12-31").mean() / 100.0
    assert accrued == pytest.approx(mean_bill, abs=0.002)
    fedfunds = macro["FEDFUNDS"]
    assert fedfunds.loc["2031-12-01"] == pytest.approx(
        between(macro["DFF"], "2031-12-01", "2031-12-31").mean(), abs=0.006
    )


# --- the story ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_boom(seed: int) -> None:
    m = market(seed)
    assert between(price(seed, "BTC-USD"), BOOM.start, BOOM.end).iloc[-1] > 2.5 * 90_000 * 0.99
    for symbol in ("NVDA", "QQQ"):
        boom = between(price(seed, symbol), BOOM.start, BOOM.end)
        assert boom.iloc[-1] / boom.iloc[0] > 1.4
    assert between(m.macro["BAMLH0A0HYM2"], BOOM.start, BOOM.end).median() < 3.6
    tlt = between(price(seed, "TLT"), BOOM.start, BOOM.end)
    assert tlt.iloc[-1] / tlt.iloc[0] < 0.95  # rising rates
    dff = m.macro["DFF"]
    assert last_on_or_before(dff, pd.Timestamp(BOOM.end)) > 5.5


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_credit_crunch(seed: int) -> None:
    m = market(seed)

    def crunch(symbol: str) -> pd.Series:
        return between(price(seed, symbol), CRUNCH.start, CRUNCH.end)

    def change(series: pd.Series) -> float:
        return float(series.iloc[-1] / series.iloc[0] - 1.0)

    assert max_drawdown(crunch("KRE")) < -0.45
    assert max_drawdown(crunch("BTC-USD")) < -0.55
    assert change(crunch("IGV")) < change(crunch("QQQ"))
    assert change(crunch("XLP") / crunch("XLY")) > 0.2
    assert change(crunch("GLD")) > 0.05 and change(crunch("BTC-USD")) < -0.5
    assert between(m.macro["BAMLH0A0HYM2"], CRUNCH.start, CRUNCH.end).max() > 7.0
    liquidity = between(liquidity_index(m), "2031-12-25", CRUNCH.end)
    assert change(liquidity) < -0.10
    assert change(between(m.macro["DTWEXBGS"], "2031-12-31", CRUNCH.end)) > 0.03
    unrate = m.macro["UNRATE"]
    before = last_on_or_before(unrate, pd.Timestamp(BOOM.end))
    rise = between(unrate, CRUNCH.start, CRUNCH.end).max() - before
    assert 2.0 <= rise <= 3.0


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_btc_trades_as_levered_tech_in_the_crunch(seed: int) -> None:
    qqq = price(seed, "QQQ")
    btc = price(seed, "BTC-USD").reindex(qqq.index)  # shared days: business days
    rolling = btc.pct_change().rolling(60).corr(qqq.pct_change())
    crunch_days = between(qqq, CRUNCH.start, CRUNCH.end).index
    windows = rolling.loc[crunch_days[59] : crunch_days[-1]]  # windows inside the crunch
    assert windows.median() > 0.6
    assert btc.pct_change().loc[crunch_days].corr(qqq.pct_change().loc[crunch_days]) > 0.6
    boom_windows = between(rolling, "2030-04-01", BOOM.end)
    assert boom_windows.median() < windows.median() - 0.3


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_pivot(seed: int) -> None:
    m = market(seed)
    walcl = m.macro["WALCL"]
    year_later = PIVOT_DATE + pd.DateOffset(years=1)
    assert last_on_or_before(walcl, year_later) / last_on_or_before(walcl, PIVOT_DATE) > 1.20
    assert last_on_or_before(m.macro["DTB3"], PIVOT_DATE + pd.DateOffset(months=3)) < 1.0
    assert last_on_or_before(m.macro["DFF"], PIVOT_DATE + pd.DateOffset(weeks=3)) < 0.3
    hy = m.macro["BAMLH0A0HYM2"]
    assert last_on_or_before(hy, pd.Timestamp(PIVOT.end)) < last_on_or_before(hy, PIVOT_DATE) - 1.5
    tlt = price(seed, "TLT")
    assert (
        last_on_or_before(tlt, pd.Timestamp(PIVOT.end))
        / last_on_or_before(tlt, pd.Timestamp(CRUNCH.end))
        > 1.1
    )


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_liquidity_rally(seed: int) -> None:
    m = market(seed)

    def from_trough(symbol: str) -> float:
        series = price(seed, symbol)
        window = between(series, CRUNCH.start, PIVOT.end)
        return float(between(series, window.idxmin(), RALLY.end).max() / window.min())

    btc = from_trough("BTC-USD")
    assert btc > 3.0
    assert all(from_trough(alt) > btc for alt in ("ETH-USD", "ZEC-USD", "HYPE-USD"))
    dollar = between(m.macro["DTWEXBGS"], RALLY.start, RALLY.end)
    assert dollar.iloc[-1] < dollar.iloc[0] * 0.95
    assert between(m.macro["BAMLH0A0HYM2"], "2033-06-01", RALLY.end).max() < 6.0


@pytest.mark.parametrize("seed", STORY_SEEDS)
def test_calm_tail_and_gold(seed: int) -> None:
    daily = price(seed, "SPY").pct_change()
    assert (
        between(daily, CALM.start, CALM.end).std()
        < between(daily, CRUNCH.start, CRUNCH.end).std() * 0.7
    )
    gold = price(seed, "GLD")
    assert gold.iloc[-1] > 1.8 * gold.iloc[0]
    assert (
        between(gold, RALLY.start, RALLY.end).iloc[-1]
        > between(gold, BOOM.start, BOOM.end).iloc[-1]
    )

"""The embedded default market: path 0 of a documented scenario, its contract and its story.

The generator itself (statistics, many paths, every scenario) is tested in
test_scenario_generator.py; here: that `playbook run`'s default data is exactly one seeded path
of `configs/scenarios/ai-credit-crunch.yaml`, with full OHLCV bars and the index trackers, and
that the default path tells the story the playbooks were written for (known numbers of seed
20300101, checked by hand against the scenario's phases and events).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from engine.errors import ConfigError
from engine.markets import generate_paths, load_scenario
from engine.markets.source import SyntheticSource, generate_default_market
from engine.markets.synthetic import (
    DEFAULT_SCENARIO,
    DEFAULT_SEED,
    TRACKERS,
    SyntheticMarket,
)
from engine.runs.config import RunConfig

CRYPTO = ["BTC-USD", "ETH-USD", "ZEC-USD", "HYPE-USD"]
WEEKDAY = ["SPY", "QQQ", "TLT", "GLD", "IGV", "XLP", "XLY", "KRE", "AXP", "NVDA", "BIL"]
TRACKED = ["^NDX", "GC=F", "^GSPC"]
PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"]
START, END = pd.Timestamp("2030-01-01"), pd.Timestamp("2035-12-31")
FACILITY = pd.Timestamp("2032-06-27")  # the scenario's Sunday emergency facility


@cache
def market(seed: int = DEFAULT_SEED) -> SyntheticMarket:
    return generate_default_market(seed)


def close(symbol: str) -> pd.Series:
    return market().prices[symbol]["adj_close"]


def phase(name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    row = market().regimes.set_index("name").loc[name]
    return row["start"], row["end"]


def max_drawdown(series: pd.Series) -> float:
    return float((series / series.cummax() - 1.0).min())


# --- what the default is ------------------------------------------------------------------------


def test_the_default_is_path_0_of_the_documented_scenario() -> None:
    assert RunConfig(strategy="60-40").data.scenario == DEFAULT_SCENARIO == "ai-credit-crunch"
    assert RunConfig(strategy="60-40").data.seed == DEFAULT_SEED
    # `playbook scenario run` defaults to the scenario's seed: its path 0 is this market
    assert load_scenario(DEFAULT_SCENARIO).seed == DEFAULT_SEED
    (path0,) = generate_paths(load_scenario(DEFAULT_SCENARIO), 1, DEFAULT_SEED, ohlcv=True)
    default = market()
    assert set(default.prices) == set(path0.prices) | set(TRACKED)
    for symbol, frame in path0.prices.items():
        pd.testing.assert_frame_equal(default.prices[symbol], frame, check_exact=True)
    assert default.macro.keys() == path0.macro.keys()
    for series_id, series in path0.macro.items():
        pd.testing.assert_series_equal(default.macro[series_id], series, check_exact=True)
    pd.testing.assert_frame_equal(default.events, path0.events)
    pd.testing.assert_frame_equal(default.regimes, path0.regimes)
    assert "Scenario ai-credit-crunch, seed 20300101, path 0" in default.description


def test_same_seed_is_bit_identical_other_seed_is_another_path_of_the_same_story() -> None:
    first, again, other = generate_default_market(7), generate_default_market(7), market(8)
    for symbol in first.prices:
        pd.testing.assert_frame_equal(first.prices[symbol], again.prices[symbol], check_exact=True)
    for series_id in first.macro:
        pd.testing.assert_series_equal(first.macro[series_id], again.macro[series_id])
    assert not np.allclose(first.prices["BTC-USD"]["close"], other.prices["BTC-USD"]["close"])
    assert not np.allclose(first.macro["BAMLH0A0HYM2"], other.macro["BAMLH0A0HYM2"])
    pd.testing.assert_frame_equal(first.events, other.events)
    pd.testing.assert_frame_equal(first.regimes, other.regimes)


def test_data_scenario_picks_another_named_scenario() -> None:
    source = SyntheticSource(5, "stagflation")
    assert source.describe() == {"source": "synthetic", "scenario": "stagflation", "seed": "5"}
    phases = [p.name for p in load_scenario("stagflation").phases]
    assert [r.name for r in source.regimes()] == phases


def test_an_unknown_scenario_is_a_config_error_naming_the_closest() -> None:
    with pytest.raises(ConfigError) as error:
        SyntheticSource(1, "ai-credit-crunh")
    assert "unknown scenario 'ai-credit-crunh'" in str(error.value)
    assert "did you mean 'ai-credit-crunch'?" in error.value.fix


# --- data contract ------------------------------------------------------------------------------


@pytest.mark.parametrize("symbol", CRYPTO + WEEKDAY + TRACKED)
def test_price_frames_have_full_valid_bars(symbol: str) -> None:
    frame = market().prices[symbol]
    assert list(frame.columns) == PRICE_COLUMNS
    assert all(dtype == np.float64 for dtype in frame.dtypes)
    index = frame.index
    assert index.name == "date" and index.tz is None
    assert index.is_monotonic_increasing and index.is_unique
    assert not frame.isna().any().any()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["low"] > 0).all() and (frame["volume"] > 0).all()
    pd.testing.assert_series_equal(frame["adj_close"], frame["close"], check_names=False)
    if symbol in CRYPTO:  # every calendar day from its listing
        expected = pd.date_range(index[0], END, freq="D")
    else:  # Monday to Friday
        expected = pd.date_range(START, END, freq="B")
    assert index.equals(pd.DatetimeIndex(expected, name="date"))


def test_hype_lists_in_the_boom() -> None:
    assert market().prices["HYPE-USD"].index[0] == pd.Timestamp("2031-06-01")
    assert market().prices["BTC-USD"].index[0] == START


@pytest.mark.parametrize("tracker", TRACKERS, ids=[t.symbol for t in TRACKERS])
def test_trackers_follow_their_base_at_the_ratio(tracker) -> None:
    ratio = close(tracker.symbol) / close(tracker.base)
    assert ratio.index.equals(close(tracker.base).index)
    assert ratio.median() == pytest.approx(tracker.ratio, rel=1e-3)
    log_noise = np.log(ratio / tracker.ratio)
    assert log_noise.std() == pytest.approx(tracker.tracking_vol, rel=0.1)


# --- the default path's story (known numbers of seed 20300101) --------------------------------


def test_the_phases_and_the_pivot_are_the_scenarios() -> None:
    regimes = market().regimes
    assert list(regimes["name"]) == [
        "boom",
        "false-alarm",
        "boom-resumes",
        "fire-alarm",
        "ai-credit-crunch",
        "fed-pivot",
        "liquidity-rally",
        "calm-tail",
    ]
    assert regimes["start"].iloc[0] == START and regimes["end"].iloc[-1] == END
    events = market().events.set_index("kind")["date"]
    assert events["emergency_facility"] == FACILITY and FACILITY.day_name() == "Sunday"
    assert phase("fed-pivot")[0] == FACILITY
    assert events["emergency_cut"] == pd.Timestamp("2032-06-29")
    # this path takes the crunch's case-1 branch (BTC's fire-alarm fall was the whole drop)
    assert "ai-credit-crunch 2031-12-01 to 2032-06-26 (branch stocks-catch-down)" in (
        market().description
    )


def test_the_false_alarm_halves_btc_while_the_nasdaq_rises() -> None:
    start, end = phase("false-alarm")
    btc, qqq = close("BTC-USD").loc[start:end], close("QQQ").loc[start:end]
    assert max_drawdown(btc) < -0.45  # -56% on this path
    assert qqq.iloc[-1] / qqq.iloc[0] > 1.0  # +9%
    assert market().macro["BAMLH0A0HYM2"].loc[start:end].max() > 4.0  # 4.18: the scare
    later = close("BTC-USD").loc[phase("boom-resumes")[0] : phase("boom-resumes")[1]]
    assert later.iloc[-1] / later.iloc[0] > 1.2  # +38%: no crisis follows


def test_the_crunch_breaks_banks_software_and_credit_while_gold_rises() -> None:
    start, end = phase("ai-credit-crunch")
    assert max_drawdown(close("KRE").loc[start:end]) < -0.30  # -38% on this path
    igv, qqq = close("IGV").loc[start:end], close("QQQ").loc[start:end]
    assert igv.iloc[-1] / igv.iloc[0] < qqq.iloc[-1] / qqq.iloc[0] - 0.2  # -18% vs +14%
    gold = close("GLD").loc[start:end]
    assert gold.iloc[-1] / gold.iloc[0] > 1.3  # +54%
    hy = market().macro["BAMLH0A0HYM2"]
    assert hy.loc[start:end].max() > 8.5  # 9.19: spreads near 9%
    assert hy.loc[: phase("boom")[1]].max() < 3.5
    fire = close("BTC-USD").loc[phase("fire-alarm")[0] : phase("fire-alarm")[1]]
    assert max_drawdown(fire) < -0.40  # -51%: the alarm before the crunch


def test_the_fed_pivots_and_liquidity_floods_in() -> None:
    macro = market().macro
    dff = macro["DFF"]
    assert dff.loc["2032-01-28"] > 4.7 and dff.loc["2032-01-30"] < 4.5  # the insurance cut
    assert 3.7 < dff.loc["2032-06-29"] < 4.1
    assert dff.loc[: FACILITY + pd.DateOffset(weeks=3)].iloc[-1] < 0.3
    walcl = macro["WALCL"]
    year_later = walcl.loc[: FACILITY + pd.DateOffset(years=1)].iloc[-1]
    assert year_later / walcl.loc[:FACILITY].iloc[-1] > 1.2  # 1.28 on this path
    start, end = phase("liquidity-rally")
    btc = close("BTC-USD").loc[start:end]
    assert btc.iloc[-1] / btc.iloc[0] > 4.0  # 6.3x on this path


def test_bills_accrue_the_bill_rate() -> None:
    bil, dtb3 = close("BIL"), market().macro["DTB3"]
    assert bil.is_monotonic_increasing
    year = bil.loc["2031-01-01":"2031-12-31"]
    accrued = year.iloc[-1] / year.iloc[0] - 1.0
    assert accrued == pytest.approx(dtb3.loc["2031-01-01":"2031-12-31"].mean() / 100, abs=0.003)

"""liquidity-barometer as seed 002 says it: rules quote the article, easing of any kind
re-enters, M2 growth is a documented input recomputed here from its definition."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.core.signals import MissingInputWarning
from engine.core.strategy import Context, Event
from engine.testing import tiny_panel, weights_on
from strategies.liquidity_barometer import (
    EASING_KINDS,
    RULES,
    SEED,
    LiquidityBarometer,
    LiquidityBarometerParams,
)
from tests.seeds import assert_rules_quote_seed

DAY = pd.Timestamp("2025-09-17")


def test_each_rule_quotes_a_sentence_of_seed_002():
    assert_rules_quote_seed(RULES, SEED)


def context(easing: float, exposure: float = 0.6) -> Context:
    signals = {"easing": easing, "exposure": exposure}
    return Context(time=DAY, weights={}, tradable=frozenset({"BTC-USD"}), signals=signals)


def test_an_ordinary_rate_cut_is_easing_and_re_enters_after_a_selloff_cut():
    """ "數月後,若央行再次放寬,美元走弱,比特幣歷史上會因流動性回歸風險資產而獲得超額收益":
    after BTC was cut as levered tech in a sell-off, the central bank easing again (an
    ordinary cut, not only crisis printing) puts it back at its liquidity size, even before
    the data show liquidity growing. (Fails on the import of hayes-pivot's kinds, which had
    no `cut`.)"""
    strategy = LiquidityBarometer()
    cut = strategy.on_event(Event(DAY, "signal:coupled_selloff:on"), context(easing=0.0))
    assert cut == {}
    assert strategy.on_event(Event(DAY, "rebalance"), context(easing=0.0)) is None  # still out
    back = strategy.on_event(Event(DAY, "fed:cut", "Cut 25bp"), context(easing=0.0))
    assert back == {"BTC-USD": 0.6}
    assert "若央行再次放寬" in (strategy.decision_rule(DAY) or "")


def test_easing_kinds_are_every_easing_in_the_fed_calendar_and_nothing_else():
    calendar = pd.read_csv(Path(__file__).resolve().parents[1] / "engine/reference/fed_events.csv")
    kinds = set(calendar["kind"])
    assert set(EASING_KINDS) <= kinds  # no name that the calendar does not use
    not_easing = {"first_hike", "last_hike", "crisis", "tightening_signal", "taper", "qt_start"}
    not_easing |= {"qt_taper"}  # QT slowed, still shrinking the balance sheet
    assert kinds - set(EASING_KINDS) == not_easing


def test_a_tightening_event_does_not_re_enter():
    strategy = LiquidityBarometer()
    strategy.on_event(Event(DAY, "signal:coupled_selloff:on"), context(easing=0.0))
    assert strategy.on_event(Event(DAY, "fed:first_hike"), context(easing=0.0)) is None
    assert strategy.on_event(Event(DAY, "fed:crisis"), context(easing=0.0)) is None


# --- M2 growth, recomputed from its definition ------------------------------------------------


def m2_panel():
    """Every day of 2030-2031 with BTC, NVDA, QQQ flat and M2SL rising 1% a month."""
    months = pd.date_range("2028-01-01", "2031-12-01", freq="MS")
    m2 = pd.Series(20_000.0 * 1.01 ** np.arange(len(months)), index=months)
    dollar_days = pd.bdate_range("2028-01-01", "2031-12-31")
    dollar = pd.Series(np.linspace(120.0, 100.0, len(dollar_days)), index=dollar_days)
    n = len(pd.date_range("2030-01-01", "2031-12-31"))
    prices = {s: [100.0] * n for s in ("BTC-USD", "NVDA", "QQQ")}
    macro = {"M2SL": m2, "DTWEXBGS": dollar}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)  # no WALCL/TGA/RRP here
        panel = tiny_panel(prices, start="2030-01-01", freq="D", macro=macro)
    return panel, m2


def known_on(series: pd.Series, released: pd.DatetimeIndex, when: pd.DatetimeIndex) -> pd.Series:
    """The latest value released on or before each day."""
    by_release = pd.Series(series.to_numpy(), index=released)
    return by_release.reindex(by_release.index.union(when)).ffill().reindex(when)


def test_m2_growth_is_year_over_year_in_calendar_days_as_released():
    panel, m2 = m2_panel()
    p = LiquidityBarometerParams(liquidity_measure="m2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        signals = LiquidityBarometer(p).signals(panel)
    # H.6: a month's M2 is out about four weeks after the month ends (28 days after month end)
    released = pd.DatetimeIndex(m2.index + pd.offsets.MonthEnd(0) + pd.Timedelta(days=28))
    days = panel.index
    now = known_on(m2, released, days)
    year_ago = known_on(m2, released, days - pd.Timedelta(days=365))
    # a year before the panel's first day nothing is known on it: no growth yet
    year_ago[days - pd.Timedelta(days=365) < days[0]] = np.nan
    by_hand = now.to_numpy() / year_ago.to_numpy() - 1
    got = signals["m2_growth"]
    np.testing.assert_allclose(got.to_numpy(), by_hand, rtol=1e-12)
    assert got.notna().sum() == 365  # the second year
    assert got.iloc[-1] == pytest.approx(1.01**12 - 1)  # twelve monthly 1% rises
    score = np.clip(by_hand / 0.10, -1, 1)
    np.testing.assert_allclose(
        signals["liquidity_score"].to_numpy()[-len(got) :], score[-len(got) :]
    )


def test_blend_is_the_mean_of_the_measures_known_and_m2_alone_without_the_usd_index():
    panel, _ = m2_panel()
    blend = LiquidityBarometer(LiquidityBarometerParams(liquidity_measure="blend"))
    m2 = LiquidityBarometer(LiquidityBarometerParams(liquidity_measure="m2"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        got, alone = blend.signals(panel), m2.signals(panel)
    assert got["usd_liquidity_growth"].isna().all()  # no WALCL/TGA/RRP in this panel
    pd.testing.assert_series_equal(got["liquidity_score"], alone["liquidity_score"])


def test_btc_coupled_to_tech_is_sold_when_tech_falls():
    """ "當科技股下跌時,比特幣的跌幅甚至更大" and BTC is "最先清倉的資產之一": while BTC moves
    with NVDA and QQQ (correlation 1 here) it is held at its liquidity size; once QQQ is more
    than 10% below its 90-day high it is cut to cash on that bar's close."""
    rng = np.random.default_rng(7)
    moves = np.r_[rng.normal(0.002, 0.005, 120), np.full(12, -0.02)]
    path = 100.0 * np.cumprod(1 + moves)
    days = pd.bdate_range("2029-01-01", "2030-12-31")
    dollar = pd.Series(np.linspace(120.0, 90.0, len(days)), index=days)  # falling: easy money
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)  # no WALCL/TGA/RRP/M2 here
        panel = tiny_panel(
            {s: list(path) for s in ("BTC-USD", "NVDA", "QQQ")},
            start="2030-01-01",
            macro={"DTWEXBGS": dollar},
        )
        weights = weights_on(LiquidityBarometer(), panel)["BTC-USD"]
    qqq = pd.Series(path, index=panel.index)
    fell = qqq / qqq.rolling("90D", min_periods=1).max() - 1 < -0.10
    first = fell.idxmax()
    assert fell.any() and not fell.iloc[:100].any()  # the fall comes after the warm-up
    assert weights.loc[: first - pd.Timedelta(days=1)].iloc[-1] == pytest.approx(1.0)
    assert (weights.loc[first:] == 0.0).all()

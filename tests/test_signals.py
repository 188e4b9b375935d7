"""Signal functions: hand-checkable answers, trailing-only windows, missing inputs dropped."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.core import signals as sig


def test_change_uses_calendar_days_and_the_last_value_on_or_before():
    index = pd.bdate_range("2021-01-01", "2021-01-15")  # Fri .. Fri
    series = pd.Series(np.arange(1.0, len(index) + 1), index=index)
    changed = sig.change(series, 7)
    # 2021-01-11 (Mon, value 7) vs 2021-01-04 (Mon, value 2)
    assert changed.loc["2021-01-11"] == pytest.approx(7 / 2 - 1)
    # 2021-01-10 is a Sunday: a 7-day lookback from Friday 2021-01-08 lands on Friday 2021-01-01
    assert changed.loc["2021-01-08"] == pytest.approx(6 / 1 - 1)
    assert np.isnan(changed.loc["2021-01-07"])  # nothing known 7 days earlier


def test_drawdown_from_a_rolling_high_forgets_old_highs():
    index = pd.date_range("2021-01-01", periods=6)
    price = pd.Series([10, 8, 6, 7, 7, 7.0], index=index)
    assert sig.drawdown_from_high(price).tolist() == pytest.approx(
        [0, -0.2, -0.4, -0.3, -0.3, -0.3]
    )
    assert sig.drawdown_from_high(price, days=3).iloc[-1] == 0.0  # high of the last 3 days is 7


def test_correlation_compounds_btc_weekends_into_monday():
    days = pd.date_range("2021-01-01", "2021-03-31")
    btc = pd.Series(100.0 * np.cumprod(1 + 0.01 * np.sin(np.arange(len(days)))), index=days)
    weekdays = days[days.day_of_week < 5]
    nasdaq = btc.loc[weekdays] * 3.0  # the same moves, seen on trading days only
    traded = pd.DataFrame({"BTC-USD": True, "QQQ": days.isin(weekdays)}, index=days)
    corr = sig.rolling_correlation(
        btc.rename("BTC-USD"), nasdaq.reindex(days).ffill().rename("QQQ"), traded, observations=20
    )
    assert corr.dropna().min() == pytest.approx(1.0)  # aligned on shared days: identical moves
    naive = btc.pct_change().reindex(weekdays).rolling(20).corr(nasdaq.pct_change())
    assert naive.dropna().min() < 0.99  # pairing Monday's equity move with BTC's Sunday is wrong


def test_liquidity_index_reads_fred_units_and_treats_missing_rrp_as_zero():
    index = pd.date_range("2021-01-06", periods=3, freq="W-WED")
    walcl = pd.Series(7_400_000.0, index=index)  # millions
    tga = pd.Series(800_000.0, index=index)  # millions
    rrp = pd.Series([np.nan, 100.0, 200.0], index=index)  # billions
    expected = [7400 - 800 - 0, 7400 - 800 - 100, 7400 - 800 - 200]
    assert sig.liquidity_index(walcl, tga, rrp).tolist() == expected


def test_wtregen_units_not_from_future():
    """Issue 14: TGA units were guessed from the whole series' median, later rows included.

    Pre-2008 the TGA was about USD 5 billion (5,000 in FRED's millions): cut there, the median
    made it look like billions and the index came out near -35,000 instead of ~800.
    """
    index = pd.date_range("2005-01-05", periods=400, freq="W-WED")
    walcl = pd.Series(np.linspace(800_000.0, 4_000_000.0, len(index)), index=index)
    tga = pd.Series(np.where(index < "2009-01-01", 5_000.0, 300_000.0), index=index)
    rrp = pd.Series(np.nan, index=index)
    full = sig.liquidity_index(walcl, tga, rrp)
    for cut in (20, 100, 250, 399):
        known = index[: cut + 1]
        seen = sig.liquidity_index(walcl[known], tga[known], rrp[known])
        pd.testing.assert_series_equal(seen, full[known])
    expected = walcl.iloc[0] / 1000 - tga.iloc[0] / 1000  # textbook: (WALCL - TGA) / 1,000
    assert full.iloc[0] == pytest.approx(expected) and full.iloc[0] == pytest.approx(795.0)


def test_stress_score_drops_missing_components_instead_of_filling():
    index = pd.date_range("2021-01-01", periods=3)
    components = pd.DataFrame(
        {"a": [1.0, 1.0, np.nan], "b": [0.0, np.nan, np.nan], "c": [1.0, 1.0, 1.0]}, index=index
    )
    score = sig.stress_score(components, min_inputs=2)
    assert score["stress_score"].iloc[0] == pytest.approx(2 / 3)
    assert score["stress_score"].iloc[1] == 1.0  # b unknown: 2 of the 2 known flags are on
    assert np.isnan(score["stress_score"].iloc[2])  # one input is too few for a score
    assert score["stress_inputs"].tolist() == [3, 2, 1]


def test_missing_inputs_in_the_window_are_warned_once_each():
    index = pd.date_range("2021-01-01", periods=4)
    components = pd.DataFrame({"kre": [np.nan, np.nan, 1.0, 0.0], "hy": [0.0] * 4}, index=index)
    with pytest.warns(sig.MissingInputWarning, match="kre has no data on 2 bars from 2021-01-01"):
        sig.warn_missing(components, "test", since=index[0])
    with warnings.catch_warnings(action="error"):
        sig.warn_missing(components, "test", since=index[2])  # warm-up before the window: silent


def test_first_cut_after_hikes_needs_a_hike_cycle_first():
    days = pd.date_range("2021-01-01", "2023-12-31")
    rate = pd.Series(0.1, index=days)
    rate.loc["2022-03-16":] = 2.0  # hikes
    rate.loc["2023-06-01":] = 1.7  # first cut
    flag = sig.first_cut_after_hikes(rate)
    assert flag.loc[:"2023-05-31"].max() == 0.0
    assert flag.loc["2023-06-01"] == 1.0
    flat = pd.Series(2.0, index=days)
    flat.loc["2023-06-01":] = 1.7  # a cut with no hikes before it
    assert sig.first_cut_after_hikes(flat).loc["2023-06-01"] == 0.0


def test_signals_command_explains_decisions(tmp_path):
    plot = tmp_path / "signals.png"
    result = CliRunner().invoke(cli, ["signals", "hayes-pivot", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC data: hayes-pivot" in result.stdout
    pivot = "2032-06-27  fed:emergency_facility       -> BTC-USD +1.00"  # the Sunday facility
    assert pivot in result.stdout
    assert "signals at 2035-12-31:" in result.stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_liquidity_barometer_drops_a_stale_input_from_its_blend_instead_of_going_flat():
    """Issue 14: with WTREGEN stale the liquidity score is missing; the size then follows the
    dollar alone (a weighted mean over what is known), it neither carries nor zeroes."""
    from strategies.liquidity_barometer import _known_blend

    index = pd.date_range("2025-12-10", periods=4)
    scores = pd.DataFrame(
        {"liquidity": [0.4, np.nan, np.nan, 0.2], "dollar": [-0.2, 0.6, np.nan, np.nan]},
        index=index,
    )
    weights = pd.Series({"liquidity": 0.5, "dollar": 0.5})
    with pytest.warns(sig.MissingInputWarning) as caught:
        blend = _known_blend(scores, weights, None)
    said = sorted(str(w.message) for w in caught)
    assert any("dollar has no data on 2 bars" in text for text in said), said  # both named,
    assert any("liquidity has no data on 2 bars" in text for text in said), said  # none leaks
    assert blend.iloc[0] == pytest.approx(0.5 * 0.4 + 0.5 * -0.2)
    assert blend.iloc[1] == pytest.approx(0.6)  # the dollar alone
    assert np.isnan(blend.iloc[2])  # nothing known: no exposure
    assert blend.iloc[3] == pytest.approx(0.2)

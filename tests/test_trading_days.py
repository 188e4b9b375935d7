"""`*_bars` windows count the asset's own sessions: on a 7-day union calendar (with BTC) a
200-bar average of QQQ is the mean of its last 200 weekday closes, recomputed here."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.core.trading_days import above_trading_day_average, trading_day_mean
from engine.testing import tiny_panel


def test_a_200_bar_average_is_200_sessions_not_200_calendar_days():
    days = pd.date_range("2030-01-01", periods=600, freq="D")
    weekdays = days[days.day_of_week < 5]
    rng = np.random.default_rng(7)
    qqq = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(weekdays)))), weekdays)
    btc = pd.Series(np.linspace(10, 20, len(days)), days)
    panel = tiny_panel({"QQQ": qqq, "BTC-USD": btc})
    days = panel.index  # the union calendar: every day (up to the last common bar)
    assert (days.day_of_week >= 5).sum() > 100
    price, traded = panel.prices["QQQ"], panel.traded["QQQ"]
    mean = trading_day_mean(price, traded, 200)
    for day in (days[300], days[452], days[-1]):  # a Saturday carries Friday's average
        sessions = qqq.loc[:day].iloc[-200:]  # textbook: the last 200 closes on or before day
        assert mean.loc[day] == sessions.mean() or np.isclose(mean.loc[day], sessions.mean())
    assert mean.loc[: weekdays[198]].isna().all() and not np.isnan(mean.loc[weekdays[199]])
    calendar_days = price.rolling("200D").mean()  # what a `*_days` window would give
    assert not np.isclose(calendar_days.loc[days[452]], mean.loc[days[452]])
    above = above_trading_day_average(price, traded, 200)
    assert above.loc[days[452]] == float(price.loc[days[452]] > mean.loc[days[452]])

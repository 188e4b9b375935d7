"""Windows counted in an asset's own trading days ("200-day average" as traders mean it).

`engine.core.signals` counts windows in calendar days (`*_days` parameters): 200 calendar days
are about 140 equity sessions. These helpers count bars on which the asset really traded
(`panel.traded`), so `sma_bars=200` is the 200-session average on any calendar (a union
calendar with 7-day crypto does not stretch it). Name such parameters `*_bars`.
"""

from __future__ import annotations

import pandas as pd

from engine.core.signals import flag


def trading_day_mean(price: pd.Series, traded: pd.Series, bars: int) -> pd.Series:
    """Mean of the last `bars` prices on days the asset traded, carried over the days it did
    not (NaN until `bars` sessions are known): trailing only."""
    sessions = price[traded.astype(bool) & price.notna()]
    mean = sessions.rolling(bars, min_periods=bars).mean()
    return mean.reindex(price.index).ffill().where(price.notna())


def above_trading_day_average(price: pd.Series, traded: pd.Series, bars: int) -> pd.Series:
    """1.0 where the price is above its `bars`-session mean, 0.0 below, NaN while unknown."""
    mean = trading_day_mean(price, traded, bars)
    return flag(price > mean, price.isna() | mean.isna())

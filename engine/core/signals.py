"""Point-in-time signals as small vectorized functions (trailing windows only).

Every function takes series already on the panel's calendar (prices carried over days an
asset does not trade; macro as known at each bar's close) and returns a series on the same
calendar. Windows are in calendar days, so a signal means the same on a 7-day crypto calendar
and a 5-day equity one. Nothing here looks at a later bar: the engine's truncation test
checks every strategy built on them.
"""

from __future__ import annotations

import warnings
from typing import TypeVar

import numpy as np
import pandas as pd

Values = TypeVar("Values", pd.Series, np.ndarray)


class MissingInputWarning(UserWarning):
    """A signal input has no data for part of the run and is dropped there, not filled."""


def change(series: pd.Series, days: int) -> pd.Series:
    """Relative change over the last `days` calendar days (value at t over value at t - days)."""
    return series / lagged(series, days) - 1.0


def difference(series: pd.Series, days: int) -> pd.Series:
    """Absolute change over the last `days` calendar days (for rates and spreads)."""
    return series - lagged(series, days)


def lagged(series: pd.Series, days: int) -> pd.Series:
    """The value known `days` calendar days before each bar (the last one on or before)."""
    index = pd.DatetimeIndex(series.index)
    values = lagged_values(series.to_numpy(dtype="float64"), lag_rows(index, days))
    return pd.Series(values, index=index)


def lag_rows(index: pd.DatetimeIndex, days: int) -> np.ndarray:
    """Per bar, the row of the last bar on or before `days` calendar days earlier (-1: none).
    It depends on the calendar only: a caller lagging many series by `days` finds it once."""
    stamps = index.asi8  # in the index's own unit, so the lag is counted in it too
    step = np.timedelta64(days, "D").astype(f"timedelta64[{index.unit}]").astype(np.int64)
    return np.searchsorted(stamps, stamps - step, side="right") - 1


def lagged_values(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """`lagged` on arrays: the last known (forward-filled) value at each of `rows`."""
    known = forward_filled(values)
    return np.where(rows >= 0, known[np.maximum(rows, 0)], np.nan)


def forward_filled(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it (leading NaNs stay): Series.ffill."""
    last = np.where(np.isnan(values), 0, np.arange(len(values)))
    return values[np.maximum.accumulate(last)] if len(values) else values.copy()


def drawdown_from_high(price: pd.Series, days: int | None = None) -> pd.Series:
    """Fall from the highest price of the last `days` calendar days (all history if None)."""
    high = price.cummax() if days is None else price.rolling(f"{days}D", min_periods=1).max()
    return price / high - 1.0


def above_average(series: pd.Series, days: int) -> pd.Series:
    """True where the series is above its trailing `days`-day mean (NaN while warming up)."""
    mean = series.rolling(f"{days}D", min_periods=max(2, days // 2)).mean()
    return flag(series > mean, series.isna() | mean.isna())


def shared_day_returns(a: pd.Series, b: pd.Series, traded: pd.DataFrame) -> pd.DataFrame:
    """Daily returns of two assets on the days both trade.

    BTC trades every day and Nasdaq five: restricting both to shared days compounds BTC's
    weekend into Monday's return instead of pairing it with a zero equity return.
    """
    shared = traded[a.name] & traded[b.name] & a.notna() & b.notna()
    both = pd.DataFrame({"a": a[shared], "b": b[shared]})
    return both.pct_change(fill_method=None).iloc[1:]


def rolling_correlation(
    a: pd.Series, b: pd.Series, traded: pd.DataFrame, observations: int
) -> pd.Series:
    """Correlation of daily returns over the last `observations` shared trading days."""
    returns = shared_day_returns(a, b, traded)
    corr = returns["a"].rolling(observations, min_periods=observations).corr(returns["b"])
    return _on_calendar(corr, a.index)


def liquidity_index(walcl: Values, tga: Values, rrp: Values) -> Values:
    """Hayes's USD liquidity, in billions: Fed assets - Treasury General Account - reverse repo.

    Inputs are in FRED's units, which the panel guarantees (it refuses other units value by
    value, `engine.data.panel.check_units`): WALCL and WTREGEN in millions, RRPONTSYD in
    billions. Units are never inferred from the data here: a guess from the whole series
    would let later rows decide how an early one is read. RRP counts as zero where it has no
    current observation (before the facility existed, or idle for weeks), which is what it was.
    Series or arrays on one calendar (a strategy holding its columns as arrays).
    """
    return walcl / 1000.0 - tga / 1000.0 - zero_where_missing(rrp)


def zero_where_missing(values: Values) -> Values:
    """`Series.fillna(0.0)`, for arrays too."""
    if isinstance(values, pd.Series):
        return values.fillna(0.0)
    return np.where(np.isnan(values), 0.0, values)


def first_cut_after_hikes(
    fed_funds: pd.Series, hike_days: int = 365, min_hikes_pct: float = 0.75, cut_pct: float = 0.2
) -> pd.Series:
    """True on bars where fed funds is `cut_pct` below its trailing high after a hike cycle.

    A hike cycle: the trailing `hike_days` high is at least `min_hikes_pct` above the low of
    the `hike_days` before that high was set. Uses only rates already published.
    """
    high = fed_funds.rolling(f"{hike_days}D", min_periods=1).max()
    low_before = lagged(fed_funds.rolling(f"{hike_days}D", min_periods=1).min(), hike_days)
    hiked = (high - low_before) >= min_hikes_pct
    cut = (high - fed_funds) >= cut_pct
    return flag(hiked & cut, fed_funds.isna() | low_before.isna())


def stress_score(components: pd.DataFrame, min_inputs: int) -> pd.DataFrame:
    """Share of available stress flags that are on, with how many were available.

    A component with no value on a bar is dropped from that bar's score (never filled), and
    the score is NaN where fewer than `min_inputs` components are available.
    """
    available = components.notna()
    count = available.sum(axis=1)
    on = components.fillna(0.0).astype(float).sum(axis=1)
    score = (on / count.where(count > 0)).where(count >= min_inputs)
    return pd.DataFrame({"stress_score": score, "stress_inputs": count})


def warn_missing(components: pd.DataFrame, what: str, since: pd.Timestamp | None) -> None:
    """One warning per component with no value somewhere in the window starting `since`."""
    window = components if since is None else components.loc[since:]
    for name in window.columns:
        missing = window[name].isna()
        message = _missing_message(what, name, window.index, missing.to_numpy())
        if message is not None:
            warnings.warn(message, MissingInputWarning, stacklevel=2)


def warn_missing_rows(
    index: pd.DatetimeIndex,
    missing: dict[str, np.ndarray],
    what: str,
    since: pd.Timestamp | None,
) -> None:
    """`warn_missing` for components given as bool arrays (True: no value) on `index`, for a
    caller that holds arrays: the same warnings, without a frame built to carry them."""
    first = 0 if since is None else int(index.searchsorted(since))
    window = index[first:] if first else index
    for name, rows in missing.items():
        message = _missing_message(what, name, window, rows[first:])
        if message is not None:
            warnings.warn(message, MissingInputWarning, stacklevel=2)


def _missing_message(what: str, name: str, index: pd.Index, missing: np.ndarray) -> str | None:
    if not missing.any():
        return None
    if missing.all():
        return f"{what}: {name} has no data in the window; dropped from the score"
    first = pd.Timestamp(index[int(missing.argmax())]).date()  # the first True
    count = int(missing.sum())
    return f"{what}: {name} has no data on {count} bars from {first}; dropped there"


def flag(condition: pd.Series, unknown: pd.Series) -> pd.Series:
    """A boolean signal as float (1.0/0.0) with NaN where its inputs are unknown."""
    return condition.astype(float).mask(unknown, np.nan)


def _on_calendar(series: pd.Series, index: pd.Index) -> pd.Series:
    """A series computed on a subset of days, carried forward to every bar of the calendar."""
    full = series.reindex(pd.DatetimeIndex(index).union(series.index)).ffill()
    return full.reindex(index)

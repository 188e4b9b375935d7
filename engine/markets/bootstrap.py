"""Many futures resampled from real history: a stationary block bootstrap of joint daily moves.

`block_bootstrap` cuts a window of history into blocks of consecutive days (geometric lengths
with mean `block_days`, Politis and Romano's stationary bootstrap, wrapping around the end)
and strings randomly chosen blocks into new paths. Every asset is resampled on the same
historical dates, so a day's cross-asset co-movement and, within a block, volatility
clustering survive; the macro series are resampled as the same blocks of first differences.

Calendars: all assets are put on one daily calendar. Crypto has a return every day; an
equity's weekend and holiday returns are zero (its price is carried). A block always starts
on a historical day with the same weekday as the output day it lands on (and the window is a
whole number of weeks, so wrapping keeps weekdays too), so equity weekend returns land on
output weekends: equity prices are then emitted on business days only, crypto every day, and
every output day's return vector is some historical day's vector exactly.

Levels: prices start at each asset's last close in the window, macro series at their last
value, and macro levels are re-cumulated from there, floored (rates and balances at zero, as
in `engine.markets.model.MACRO_SERIES`). Dates start at a fictional 2040-01-01 so a path is
never mistaken for history; there are no events and one regime, `bootstrap`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.data.sources import Source
from engine.errors import ConfigError, DataError
from engine.markets.generator import PATH_KEY, UNIT, _close_frame, nan_block
from engine.markets.model import MACRO_SERIES
from engine.markets.synthetic import SyntheticMarket

BOOTSTRAP_START = pd.Timestamp("2040-01-01").as_unit(UNIT)
CHUNK_PATHS = 50
MIN_WEEKS = 4


def block_bootstrap(
    source: Source,
    symbols: Sequence[str],
    macro_ids: Sequence[str],
    start: dt.date,
    end: dt.date,
    n_paths: int,
    seed: int,
    block_days: int = 20,
    length_days: int | None = None,
) -> list[SyntheticMarket]:
    """`n_paths` bootstrapped markets from `source`'s history between `start` and `end`.

    The history used is the part of [start, end] where every symbol has prices (trimmed at
    the front to whole weeks). Paths are `length_days` long (default: as long as that
    history) and share one calendar from 2040-01-01.
    """
    if n_paths < 1:
        raise ConfigError(f"n_paths must be at least 1 (got {n_paths})", "ask for 1 or more paths")
    if block_days < 1:
        raise ConfigError(f"block_days must be at least 1 (got {block_days})", "use e.g. 20")
    symbols = list(dict.fromkeys(symbols))
    macro_ids = list(dict.fromkeys(macro_ids))
    if not symbols:
        raise ConfigError("no symbols to bootstrap", "name at least one symbol")
    history = _History.load(source, symbols, macro_ids, start, end)
    length = history.n_returns + 1 if length_days is None else int(length_days)
    if length < 2:
        raise ConfigError(f"length_days must be at least 2 (got {length_days})", "use e.g. 2520")
    days = pd.date_range(BOOTSTRAP_START, periods=length, freq="D", name="date")
    weekday = np.asarray(days.day_of_week < 5)
    indexes = [days if crypto else days[weekday] for crypto in history.crypto]
    equities = ~np.array(history.crypto)
    first_weekday = int(np.argmax(weekday))  # moves before an equity's first bar are unseen
    macro_index = [_output_index(days, freq) for freq in history.macro_freq]
    positions = [days.get_indexer(index) for index in macro_index]
    nans = [nan_block(len(index)) for index in indexes]
    regimes = pd.DataFrame(
        {
            "name": ["bootstrap"],
            "start": pd.DatetimeIndex([days[0]]),
            "end": pd.DatetimeIndex([days[-1]]),
            "description": [
                f"Block bootstrap of {history.first.date()}..{history.last.date()} history"
            ],
        }
    )
    events = pd.DataFrame(
        {
            "date": pd.DatetimeIndex([], dtype=f"datetime64[{UNIT}]"),
            "kind": pd.Series([], dtype=str),
            "description": pd.Series([], dtype=str),
        }
    )
    markets = []
    for first in range(0, n_paths, CHUNK_PATHS):
        paths = range(first, min(first + CHUNK_PATHS, n_paths))
        picks = _stationary_indices(history, days, paths, seed, block_days)  # (P, L - 1)
        returns = history.returns[picks]
        returns[:, :first_weekday, equities] = 0.0  # an equity's first bar is its start price
        log_prices = _cumulate(returns, history.log_last)  # (P, L, A)
        levels = _cumulate(history.macro_moves[picks], history.macro_last)  # (P, L, K)
        levels = np.maximum(levels, history.macro_floor[None, None, :])
        for j, path in enumerate(paths):
            prices = {}
            for a, symbol in enumerate(symbols):
                keep = slice(None) if history.crypto[a] else weekday
                close = np.exp(log_prices[j, keep, a])
                close.flags.writeable = False
                prices[symbol] = _close_frame(indexes[a], close, nans[a])
            macro = {
                series_id: pd.Series(
                    levels[j, positions[k], k], index=macro_index[k], name=series_id
                )
                for k, series_id in enumerate(macro_ids)
            }
            markets.append(
                SyntheticMarket(
                    prices=prices,
                    macro=macro,
                    events=events.copy(deep=False),
                    regimes=regimes.copy(deep=False),
                    description=_description(history, source, block_days, seed, path, days),
                )
            )
    return markets


class _History:
    """The joint daily moves of the window: returns (H, A) and macro differences (H, K)."""

    def __init__(self) -> None:
        self.returns = np.zeros((0, 0))
        self.macro_moves = np.zeros((0, 0))
        self.return_days = pd.DatetimeIndex([])
        self.crypto: list[bool] = []
        self.log_last = np.zeros(0)
        self.macro_last = np.zeros(0)
        self.macro_floor = np.zeros(0)
        self.macro_freq: list[str] = []
        self.symbols: list[str] = []
        self.macro_ids: list[str] = []
        self.first = pd.Timestamp(0)
        self.last = pd.Timestamp(0)

    @property
    def n_returns(self) -> int:
        return len(self.return_days)

    @classmethod
    def load(
        cls,
        source: Source,
        symbols: list[str],
        macro_ids: list[str],
        start: dt.date,
        end: dt.date,
    ) -> _History:
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        prices = {}
        for symbol in symbols:
            series = source.prices(symbol)["price"].loc[lo:hi]
            if len(series) < 2:
                raise DataError(
                    f"{symbol} has fewer than two prices between {start} and {end}",
                    "widen the window or drop the symbol",
                )
            prices[symbol] = series
        first = max(s.index[0] for s in prices.values())
        last = min(s.index[-1] for s in prices.values())
        weeks = (last - first).days // 7
        if weeks < MIN_WEEKS:
            raise DataError(
                f"the symbols share only {(last - first).days} days of history "
                f"({first.date()}..{last.date()})",
                f"give a window where all of {', '.join(symbols)} trade for {MIN_WEEKS}+ weeks",
            )
        first = last - pd.Timedelta(days=7 * weeks)  # whole weeks: wrapping keeps weekdays
        days = pd.date_range(first, last, freq="D")
        history = cls()
        history.symbols, history.macro_ids = symbols, macro_ids
        history.first, history.last = first, last
        history.return_days = days[1:]
        log_prices = np.column_stack(
            [np.log(_on_days(prices[s], days)).to_numpy() for s in symbols]
        )
        history.returns = np.diff(log_prices, axis=0)
        history.log_last = log_prices[-1]
        from engine.markets.calibrate import is_crypto  # (calibrate runs as a script too)

        history.crypto = [is_crypto(pd.DatetimeIndex(prices[s].index)) for s in symbols]
        moves, lasts, floors, freqs = [], [], [], []
        for series_id in macro_ids:
            series = source.macro(series_id)
            if series is None or series.loc[:hi].dropna().empty:
                raise DataError(
                    f"the source has no {series_id} history up to {end}",
                    "drop it from the macro series or use a source that has it",
                )
            series = series.loc[:hi].dropna()
            level = _on_days(series, days)
            moves.append(level.diff().fillna(0.0).to_numpy()[1:])
            lasts.append(float(series.iloc[-1]))
            known = MACRO_SERIES.get(series_id)
            floors.append(known.floor if known is not None else 0.0)
            freqs.append(_frequency(pd.DatetimeIndex(series.index)))
        history.macro_moves = np.column_stack(moves) if moves else np.zeros((len(days) - 1, 0))
        history.macro_last = np.array(lasts, dtype=float)
        history.macro_floor = np.array(floors, dtype=float)
        history.macro_freq = freqs
        if not np.isfinite(history.returns).all():
            raise DataError("non-finite returns in the bootstrap window", "check the price files")
        return history


def _on_days(series: pd.Series, days: pd.DatetimeIndex) -> pd.Series:
    """The last value on or before each day (a price is carried over weekends and holidays;
    days before the first value take the first value, so they move nothing)."""
    full = series.reindex(series.index.union(days)).ffill().bfill()
    return full.reindex(days).astype("float64")


def _frequency(index: pd.DatetimeIndex) -> str:
    """The observation calendar of a macro series: daily, business days, weekly or monthly."""
    if len(index) < 3:
        return "D"
    recent = index[-260:]
    gap = float(np.median(np.diff(recent.asi8)) / 86_400 / 10 ** _exponent(recent))
    if gap <= 1.5:
        return "D" if (recent.day_of_week >= 5).mean() > 0.1 else "B"
    if gap <= 8:
        weekday = int(pd.Series(recent.day_of_week).mode().iloc[0])
        return "W-" + ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[weekday]
    return "MS"


def _exponent(index: pd.DatetimeIndex) -> int:
    return {"s": 0, "ms": 3, "us": 6, "ns": 9}[index.unit]


def _output_index(days: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    return pd.date_range(days[0], days[-1], freq=freq, name="date")


def _stationary_indices(
    history: _History, days: pd.DatetimeIndex, paths: range, seed: int, block_days: int
) -> np.ndarray:
    """Historical return index for each output day after the first, per path: blocks start
    with probability 1/block_days, at a random historical day of the same weekday."""
    n_out = len(days) - 1
    n_hist = history.n_returns
    weeks = n_hist // 7
    new = np.empty((len(paths), n_out), dtype=bool)
    week = np.empty((len(paths), n_out), dtype=np.int64)
    for j, path in enumerate(paths):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PATH_KEY, path)))
        new[j] = rng.random(n_out) < 1.0 / block_days
        week[j] = rng.integers(0, weeks, size=n_out)
    new[:, 0] = True
    out_weekday = np.asarray(days[1:].day_of_week)
    first_weekday = int(history.return_days[0].day_of_week)
    candidate = (out_weekday - first_weekday) % 7 + 7 * week  # same weekday as the output day
    step = np.arange(n_out)
    block_start = np.maximum.accumulate(np.where(new, step[None, :], 0), axis=1)
    origin = np.take_along_axis(candidate, block_start, axis=1)
    return (origin + (step[None, :] - block_start)) % n_hist


def _cumulate(moves: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Levels from the moves: the first output day is `last`, then each day adds its move."""
    n_paths, n_moves, width = moves.shape
    out = np.empty((n_paths, n_moves + 1, width))
    out[:, 0, :] = last[None, :]
    np.cumsum(moves, axis=1, out=out[:, 1:, :])
    out[:, 1:, :] += last[None, None, :]
    return out


def _description(
    history: _History,
    source: Source,
    block_days: int,
    seed: int,
    path: int,
    days: pd.DatetimeIndex,
) -> str:
    described = source.describe()
    origin = described.get("path") or described.get("label") or described.get("source", "")
    macro = f" and {', '.join(history.macro_ids)}" if history.macro_ids else ""
    return (
        f"Stationary block bootstrap (mean block {block_days} days) of the daily moves of "
        f"{', '.join(history.symbols)}{macro} over {history.first.date()}..{history.last.date()} "
        f"({origin}), seed {seed}, path {path}: fictional dates {days[0].date()} to "
        f"{days[-1].date()}, not history. Prices start at the window's last closes."
    )

"""The point-in-time panel a strategy sees: prices, tradability, macro as known, events, cash.

Built by `engine.data.panel.build_panel`; defined here because it is part of the strategy
contract (strategies and the event walk read it, never build it).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.core.regimes import Regime


@dataclass(frozen=True, eq=False)
class Panel:
    prices: pd.DataFrame  # calendar x symbols, total-return price
    traded: pd.DataFrame  # calendar x symbols, True where the asset had a real bar
    macro: pd.DataFrame  # calendar x series ids, as known at each bar's close
    cash_rate: pd.Series  # annual rate (decimal) prevailing on each bar, for accrual only
    events: pd.DataFrame  # bar, date, kind, description
    tradable_symbols: tuple[str, ...]
    calendar_kind: str
    synthetic: bool
    source: dict[str, str]
    notes: tuple[str, ...] = field(default=())
    window_start: pd.Timestamp | None = None  # first reported bar (earlier bars are warm-up)
    regimes: tuple[Regime, ...] = ()  # the source's named regimes (history or scenario phases)

    def for_strategy(self) -> Panel:
        """The panel as handed to a strategy's code: its frames are copies that share the
        data copy-on-write (pandas 3), so a strategy that writes into them (`panel.prices[s]
        = ...`, `.loc[...] = ...`, `fillna(inplace=True)`) changes its own copy, never the
        prices the engine fills at nor the benchmark's. ~60 us: one per run, sweep group or
        scenario path, not one per set."""
        return dataclasses.replace(
            self,
            prices=self.prices.copy(deep=False),
            traded=self.traded.copy(deep=False),
            macro=self.macro.copy(deep=False),
            cash_rate=self.cash_rate.copy(deep=False),
            events=self.events.copy(deep=False),
            source=dict(self.source),
        )

    @property
    def index(self) -> pd.DatetimeIndex:
        index = self.prices.index
        # wrapping a DatetimeIndex again costs ~0.1 ms, and a sweep asks per set
        return index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index)

    def first_bar(self, symbol: str) -> pd.Timestamp | None:
        valid = self.prices[symbol].first_valid_index()
        return None if valid is None else pd.Timestamp(valid)

    def periods_per_year(self, start: pd.Timestamp | None = None) -> float:
        """Bars per calendar year of the window from `start` (`metrics.periods_per_year`)."""
        from engine.core.metrics import periods_per_year

        return periods_per_year(self.index if start is None else self.index[self.index >= start])

    def truncated(self, last: pd.Timestamp) -> Panel:
        """The panel as it would have been built with data up to `last` (for look-ahead tests)."""
        keep = self.index <= last
        return Panel(
            prices=self.prices.loc[keep],
            traded=self.traded.loc[keep],
            macro=self.macro.loc[keep],
            cash_rate=self.cash_rate.loc[keep],
            events=self.events[self.events["bar"] <= last].reset_index(drop=True),
            tradable_symbols=self.tradable_symbols,
            calendar_kind=self.calendar_kind,
            synthetic=self.synthetic,
            source=self.source,
            notes=self.notes,
            window_start=self.window_start,
            regimes=self.regimes,
        )

    def fingerprint(self) -> dict[str, object]:
        """Source, symbols, first/last dates and a content hash: what makes a run reproducible."""
        symbols = {}
        for symbol in self.prices.columns:
            first = self.first_bar(symbol)
            symbols[symbol] = {
                "first": None if first is None else str(first.date()),
                "last": str(self.index[-1].date()),
                "bars": int(self.traded[symbol].sum()),
            }
        macro = {sid: _series_span(self.macro[sid]) for sid in self.macro.columns}
        return {
            **self.source,
            "calendar": self.calendar_kind,
            "first": str(self.index[0].date()),
            "last": str(self.index[-1].date()),
            "bars": len(self.index),
            "symbols": symbols,
            "macro": macro,
            "content_sha256": self.content_hash(),
        }

    def content_hash(self) -> str:
        digest = hashlib.sha256()
        for frame in (self.prices, self.macro, self.traded.astype(np.int8)):
            digest.update(",".join(map(str, frame.columns)).encode())
            digest.update(np.ascontiguousarray(frame.to_numpy(dtype=np.float64)).tobytes())
        digest.update(self.index.asi8.tobytes())
        digest.update(self.cash_rate.to_numpy(dtype=np.float64).tobytes())
        return digest.hexdigest()


def _series_span(series: pd.Series) -> dict[str, str | None]:
    valid = series.dropna()
    if valid.empty:
        return {"first": None, "last": None}
    return {"first": str(valid.index[0].date()), "last": str(valid.index[-1].date())}


def column_values(
    frame: pd.DataFrame, names: Sequence[str], dtype: type = np.float64
) -> np.ndarray:
    """`frame`'s columns `names`, in that order, as one array (bars x names), taken from the
    frame's values by position: selecting columns by label builds a frame or Series first,
    which costs more than the copy, once per path of a scenario run. Positions come from
    `get_loc`, a hash lookup per name: `get_indexer` on pandas 3's string columns costs ~60 us
    a call, more than the copy (a scenario path asks a dozen times)."""
    columns = frame.columns
    if not columns.is_unique:
        raise KeyError(
            f"the panel has duplicate columns: {sorted(set(columns[columns.duplicated()]))}"
        )
    missing = [name for name in names if name not in columns]
    if missing:
        raise KeyError(f"{missing} not in the panel")
    positions = [columns.get_loc(name) for name in names]
    return frame.to_numpy(dtype=dtype)[:, positions]

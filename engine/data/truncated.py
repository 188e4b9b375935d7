"""A source that knows nothing after a day: what a user had on that day.

The look-ahead property (`engine.research.strategy_checks`, `engine.testing`) cuts the data
files after day D, not the panel afterwards: every signal, event and decision on or before D
must then be what the whole data gave.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.core.regimes import Regime


class TruncatedSource:
    """Another source's prices, macro series, vintages and events up to `last` (inclusive)."""

    def __init__(self, inner: Any, last: pd.Timestamp | str) -> None:
        self.inner, self.last = inner, pd.Timestamp(last)
        self.kind, self.synthetic = inner.kind, inner.synthetic

    def prices(self, symbol: str) -> pd.DataFrame:
        return self.inner.prices(symbol).loc[: self.last]

    def macro(self, series_id: str) -> pd.Series | None:
        series = self.inner.macro(series_id)
        return None if series is None else series.loc[: self.last]

    def vintages(self, series_id: str) -> pd.DataFrame | None:
        """The reference dates up to `last` with their vintages (a vintage published later
        is never visible to a bar on or before `last`: the panel reads each as of its bar)."""
        reader = getattr(self.inner, "vintages", None)
        table = None if reader is None else reader(series_id)
        if table is None:
            return None
        kept = table[table["date"] <= self.last]
        return kept.reset_index(drop=True) if len(kept) else None

    def events(self) -> pd.DataFrame:
        events = self.inner.events()
        return events[events["date"] <= self.last]

    def describe(self) -> dict[str, str]:
        return dict(self.inner.describe())

    def regimes(self) -> tuple[Regime, ...]:
        return tuple(self.inner.regimes())

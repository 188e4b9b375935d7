"""Panels of many scenario paths from the generator's arrays, one `build_panel` for them all.

The paths of one scenario share every date: calendar, listings, macro release dates, events.
Only values differ. `build_panel` places each value by its date (forward fill to the
calendar, release lags, staleness), so which raw row each bar reads is the same on every
path. `PathPanels` works that out once, on the first path's panel (built by `build_panel`),
and then fills each path's panel by taking rows of its arrays: the same values `build_panel`
gives (tests/test_scenario_run.py compares them), at a fraction of the cost.

A path whose dates differ from the first path's, or whose arrays hold a missing value (which
`build_panel` would skip over when filling), is not covered: `panel` returns None and the
caller builds that path with `build_panel`. Per-path data notes (price jumps, say) are not
recomputed: a scenario run reports none of them.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from engine.core.panel import Panel, column_values
from engine.data.releases import as_released, release_lag
from engine.markets.synthetic import SyntheticMarket


class PathPanels:
    """Row maps of one scenario's paths, taken from the first path's panel (`template`)."""

    def __init__(
        self,
        template: Panel,
        market: SyntheticMarket,
        cash_series: tuple[str, ...],
        cash_rate_pct: float,
    ) -> None:
        self.template = template
        calendar = template.index
        self._prices = {}
        for symbol in template.prices.columns:
            index = market.prices[symbol].index
            self._prices[symbol] = (index, _last_on_or_before(index, calendar))
        self._macro: dict[str, tuple[pd.DatetimeIndex, np.ndarray]] = {}
        for series_id in template.macro.columns:
            index = market.macro[series_id].index
            rows = _released_rows(index, series_id, calendar)
            rows[template.macro[series_id].isna().to_numpy()] = -1  # stale or not yet out
            self._macro[series_id] = (index, rows)
        self._cash = [
            (series_id, market.macro[series_id].index)
            for series_id in cash_series
            if series_id in market.macro
        ]
        self._cash_rows = [_last_on_or_before(index, calendar) for _, index in self._cash]
        self._constant = cash_rate_pct / 100.0
        self._price_columns = template.prices.columns
        self._macro_columns = template.macro.columns

    def panel(self, market: SyntheticMarket, source: dict[str, str]) -> Panel | None:
        """The path's panel, or None when its dates or values are not the template's kind."""
        calendar = self.template.index
        # one block per frame, a row per column: the layout a frame built from a dict of
        # columns has, built without a dict or a new column index per path
        prices = np.empty((len(self._prices), len(calendar)))
        for k, (symbol, (index, rows)) in enumerate(self._prices.items()):
            frame = market.prices.get(symbol)
            if frame is None or not frame.index.equals(index):
                return None
            if not _take_into(prices[k], column_values(frame, ["adj_close"])[:, 0], rows):
                return None
        macro = np.empty((len(self._macro), len(calendar)))
        for k, (series_id, (index, rows)) in enumerate(self._macro.items()):
            series = market.macro.get(series_id)
            if series is None or not series.index.equals(index):
                return None
            if not _take_into(macro[k], series.to_numpy(dtype=np.float64), rows):
                return None
        rate = np.full(len(calendar), np.nan)
        for (series_id, index), rows in zip(self._cash, self._cash_rows, strict=True):
            series = market.macro.get(series_id)
            if series is None or not series.index.equals(index):
                return None
            values = _take(series.to_numpy(dtype=np.float64) / 100.0, rows)
            if values is None:
                return None
            rate = np.where(np.isnan(rate), values, rate)
        rate = np.where(np.isnan(rate), self._constant, rate)
        return dataclasses.replace(
            self.template,
            prices=pd.DataFrame(prices.T, index=calendar, columns=self._price_columns, copy=False),
            macro=pd.DataFrame(macro.T, index=calendar, columns=self._macro_columns, copy=False),
            cash_rate=pd.Series(rate, index=calendar, name="cash_rate"),
            source=source,
            notes=(),
        )


def _last_on_or_before(index: pd.DatetimeIndex, calendar: pd.DatetimeIndex) -> np.ndarray:
    """Per bar, the row of the last date on or before it (-1 before the first): what a
    forward fill onto the calendar reads, for values with no gaps."""
    return np.searchsorted(index.asi8, calendar.as_unit(index.unit).asi8, side="right") - 1


def _released_rows(
    index: pd.DatetimeIndex, series_id: str, calendar: pd.DatetimeIndex
) -> np.ndarray:
    """Per bar, the row of the last value released on or before it (-1: none): the release
    lag applied to the rows' positions themselves, then forward filled as build_panel does."""
    rows = pd.Series(np.arange(len(index), dtype=np.float64), index=index)
    released = as_released(rows, release_lag(series_id))
    full = released.reindex(calendar.union(released.index)).ffill().reindex(calendar)
    return full.fillna(-1).to_numpy().astype(np.int64)


def _take_into(out: np.ndarray, values: np.ndarray, rows: np.ndarray) -> bool:
    """`_take(values, rows)` written into `out`; False if a value is missing."""
    found = _take(values, rows)
    if found is None:
        return False
    out[:] = found
    return True


def _take(values: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """values[rows], NaN where rows is -1; None if a value is missing (a fill would skip it)."""
    if not np.isfinite(values).all():
        return None
    out = values[np.maximum(rows, 0)]
    out[rows < 0] = np.nan
    return out

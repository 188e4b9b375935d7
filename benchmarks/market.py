"""What the reference loop and the numba kernel read: a window's prices and fill schedules.

Both take the same inputs as `engine.core.simulate`: the panel's prices of the traded symbols on
the simulated window, the annual cash rate per bar, and each run's fill schedule (the output
of `engine.core.simulate.fill_schedule`: fill bar x symbol target weights). Each builds its own
instrument prices from them (CASH accruing the cash rate, short legs times a borrow index),
so neither borrows any arithmetic from the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.core.panel import Panel
from engine.core.simulate import Costs, fill_schedule


@dataclass(frozen=True)
class Market:
    """One simulated window: dates, traded symbols' prices (NaN before a first bar), cash rate."""

    dates: pd.DatetimeIndex
    symbols: tuple[str, ...]
    prices: np.ndarray  # bars x symbols
    cash_rate: np.ndarray  # bars, annual rate as a decimal

    @property
    def bars(self) -> int:
        return len(self.dates)


def market_from_panel(panel: Panel, symbols: Sequence[str], start: pd.Timestamp) -> Market:
    start_pos = int(panel.index.searchsorted(pd.Timestamp(start)))
    return Market(
        dates=panel.index[start_pos:],
        symbols=tuple(symbols),
        prices=panel.prices[list(symbols)].iloc[start_pos:].to_numpy(dtype=np.float64),
        cash_rate=panel.cash_rate.iloc[start_pos:].to_numpy(dtype=np.float64),
    )


def fill_schedules(
    panel: Panel, targets: Sequence[pd.DataFrame], start: pd.Timestamp
) -> list[pd.DataFrame]:
    """The engine's own fill schedules for these decisions (what both references consume)."""
    start_pos = int(panel.index.searchsorted(pd.Timestamp(start)))
    return [fill_schedule(panel, t, start_pos) for t in targets]


def cost_fractions(costs: Costs) -> tuple[float, float, float]:
    """(fee, slippage, annual borrow rate) as fractions."""
    return costs.fees_bps / 1e4, costs.slippage_bps / 1e4, costs.borrow_bps / 1e4

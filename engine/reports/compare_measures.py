"""Figures the compare page adds to a run's stats: calendar-year returns and turnover per bar.

Both come from the run folder's own files. Turnover is the one stats.json reports
(`turnover_per_year`, see engine.core.simulate_kernel): the sum over the risky instruments'
orders (never CASH) of |traded notional| / wealth at the fill bar's close, per calendar year.
A run folder holds no orders, but its end-of-bar weights and each instrument's bar return
(`instrument_returns.parquet`, written with the run page) give them: what an instrument held
before the bar's fill is the previous end weight grown by its return relative to the
portfolio's, so the traded weight is the end weight minus that, and orders fill at the close
moved by the slippage against the trade. Summed over a run it equals stats.json's figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.core import metrics

CASH = metrics.CASH


def yearly_returns(returns: pd.Series) -> pd.Series:
    """Compounded return per calendar year of the bars given (NaN bars dropped), by year."""
    bars = returns.dropna()
    grouped = (1.0 + bars).groupby(pd.DatetimeIndex(bars.index).year).prod() - 1.0
    return grouped.rename_axis("year")


def partial_years(start: pd.Timestamp, end: pd.Timestamp) -> dict[int, str]:
    """The years the window [start, end] does not span from 1 January to 31 December, with
    the part it does span (`from 11-18`, `to 06-30`): their returns are not whole years."""
    spans: dict[int, list[str]] = {}
    if (start.month, start.day) != (1, 1):
        spans.setdefault(start.year, []).append(f"from {start:%m-%d}")
    if (end.month, end.day) != (12, 31):
        spans.setdefault(end.year, []).append(f"to {end:%m-%d}")
    return {year: " ".join(parts) for year, parts in spans.items()}


def bar_turnover(
    weights: pd.DataFrame,
    instrument_returns: pd.DataFrame,
    strategy: pd.Series,
    slippage: float,
) -> pd.Series:
    """Each bar's risky traded notional / wealth (CASH excluded): stats.json's turnover per bar.

    weights are end-of-bar weights, instrument_returns each column's bar return, strategy the
    run's bar return, slippage the fraction fills move against the trade (buys pay more,
    sells get less, so a traded weight dw is dw * (1 + slippage * sign(dw)) of notional).
    NaN on a bar where the run's wealth was gone (nothing is defined there).
    """
    risky = [c for c in weights.columns if c != CASH]
    held = weights[risky].astype(float)
    grown = held.shift(1, fill_value=0.0) * (1.0 + instrument_returns[risky])
    growth = (1.0 + strategy).where(1.0 + strategy > 0.0)
    traded = held - grown.div(growth, axis=0)
    per_bar = traded.abs().sum(axis=1) + slippage * traded.sum(axis=1)
    return per_bar.where(growth.notna() & np.isfinite(per_bar))


def turnover_per_year(per_bar: pd.Series) -> float:
    """Turnover over these bars, per calendar year of them (metrics.years, as stats.json)."""
    span = metrics.years(per_bar)
    if not len(per_bar) or per_bar.isna().any() or span <= 0:
        return float("nan")
    return float(per_bar.sum() / span)


def regime_turnover(per_bar: pd.Series, start: str, end: str) -> float:
    """Turnover per year on a regime's bars: after its start, up to its end (regimes.csv's)."""
    index = pd.DatetimeIndex(per_bar.index)
    inside = (index > pd.Timestamp(start)) & (index <= pd.Timestamp(end))
    return turnover_per_year(per_bar[inside]) if inside.any() else float("nan")

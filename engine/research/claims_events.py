"""Event studies for causal claims: what a series did after dated events, against any day.

A thesis that says "BTC rises after the Fed prints" is a claim about forward returns after
events. This module holds the plain arithmetic (no claims schema, no data access) so that
`engine.research.claims` can state n, mean and median per horizon next to the unconditional figures.
Forward windows are calendar days; an event counts at a horizon only when the whole window
ends on or before the cut-off (the article's publication date): no later data.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class HorizonStats:
    """Forward outcomes at one horizon: after the events, and after every day of the sample."""

    days: int
    n: int
    mean: float | None
    median: float | None
    hit_rate: float | None  # share of events with a positive outcome
    base_n: int
    base_mean: float | None
    base_median: float | None

    @property
    def excess(self) -> float | None:
        """Event mean minus the unconditional mean (None without events)."""
        if self.mean is None or self.base_mean is None:
            return None
        return self.mean - self.base_mean


def declustered(dates: list[pd.Timestamp], min_gap_days: int) -> list[pd.Timestamp]:
    """Keep the first event of each cluster: events closer than `min_gap_days` overlap."""
    kept: list[pd.Timestamp] = []
    for day in sorted(dates):
        if not kept or (day - kept[-1]).days >= min_gap_days:
            kept.append(day)
    return kept


def forward_outcome(
    series: pd.Series, day: pd.Timestamp, days: int, how: str, cutoff: pd.Timestamp
) -> float | None:
    """Outcome from the last value on or before `day` to the last on or before `day + days`.

    `how` is "return" (percent change) or "change" (difference, in the series' units).
    None when the window ends after `cutoff` or the series has no value at its start.
    """
    end = day + pd.Timedelta(days=days)
    if end > cutoff:
        return None
    v0 = _current(series, day)
    if v0 is None:
        return None
    v1 = float(series.loc[:end].iloc[-1])
    return (v1 / v0 - 1.0) * 100.0 if how == "return" else v1 - v0


def horizon_stats(
    series: pd.Series,
    events: list[pd.Timestamp],
    days: int,
    how: str,
    sample_start: pd.Timestamp,
    cutoff: pd.Timestamp,
) -> HorizonStats:
    """Event outcomes at one horizon, and the same outcome from every day of the sample."""
    outcomes = [forward_outcome(series, e, days, how, cutoff) for e in events]
    got = pd.Series([o for o in outcomes if o is not None], dtype="float64")
    starts = series.loc[sample_start : cutoff - pd.Timedelta(days=days)]
    ends = series.asof(starts.index + pd.Timedelta(days=days)).to_numpy()
    base = pd.Series(
        (ends / starts.to_numpy() - 1.0) * 100.0 if how == "return" else ends - starts.to_numpy()
    ).dropna()
    return HorizonStats(
        days=days,
        n=len(got),
        mean=float(got.mean()) if len(got) else None,
        median=float(got.median()) if len(got) else None,
        hit_rate=float((got > 0).mean()) if len(got) else None,
        base_n=len(base),
        base_mean=float(base.mean()) if len(base) else None,
        base_median=float(base.median()) if len(base) else None,
    )


def divergence_days(a: pd.Series, b: pd.Series, sessions: int, gap: float) -> list[pd.Timestamp]:
    """Shared sessions where a's `sessions`-session return trails b's by more than `gap` points.

    Both series are aligned on the dates both have (for BTC vs an index: the index's sessions).
    """
    both = a.rename("a").to_frame().join(b.rename("b"), how="inner").dropna()
    change = (both / both.shift(sessions) - 1.0) * 100.0
    spread = (change["a"] - change["b"]).dropna()
    return [pd.Timestamp(d) for d in spread.index[spread < -gap]]


def weaker_dollar(dollar: pd.Series, day: pd.Timestamp, days: int) -> bool | None:
    """Did the dollar index fall over the `days` calendar days up to `day`? None without data."""
    now, then = _current(dollar, day), dollar.loc[: day - pd.Timedelta(days=days)]
    if now is None or then.empty:
        return None
    return bool(now < then.iloc[-1])


def _current(series: pd.Series, day: pd.Timestamp) -> float | None:
    """The last value on or before `day`; None without one in the week before it."""
    upto = series.loc[:day]
    if upto.empty or upto.index[-1] < day - pd.Timedelta(days=7):
        return None
    return float(upto.iloc[-1])

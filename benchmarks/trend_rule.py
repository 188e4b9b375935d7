"""The single-asset rule the library comparisons run: long QQQ while its trend is up, else cash.

What a user would write first in any backtester: the N-session change of QQQ's close above a
threshold (in percent) means fully long, anything else means all cash. It has no `measures`
and no `decide_many`, so a sweep of it takes the engine's generic path (one event walk per
set): the case the "no batch path" throughput target is about. `benchmarks.rivals` writes
the same rule for backtesting.py and bt.

Where a set's time goes in a sweep: its own `signals()` (a few pandas operations per set,
about a third of it) and its walk: ~307 events per set, mostly flips of `up` since QQQ's
first bar in 1999 (the warm-up before the 2014 window included), each a Context, an
`on_event` call and, for a reaction, a validation (once per distinct reaction and tradable
set in a walk); the simulation and metrics are a small rest.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from engine.core.panel import Panel
from engine.core.strategy import Context, Event, Strategy, StrategyParams, Weights


class TrendParams(StrategyParams):
    symbol: str = Field("QQQ", description="the one asset traded")
    lookback_bars: int = Field(60, ge=1, le=1000, description="trend window in its sessions")
    threshold_pct: float = Field(0.0, ge=-100, le=1000, description="long above this change")


def uptrend(close: pd.Series, lookback_bars: int, threshold_pct: float) -> pd.Series:
    """True where the close is more than `threshold_pct` percent above the close
    `lookback_bars` sessions earlier (the series' own sessions; False until it has them)."""
    own = close.dropna()
    change = own / own.shift(lookback_bars) - 1.0
    return (change * 100.0 > threshold_pct).astype(bool)


class Trend(Strategy):
    """Fully in the asset while its trend is above the threshold, in cash otherwise."""

    name = "trend"
    thesis = "Long QQQ while its N-session change is above a threshold, else T-bills."
    Params = TrendParams
    p: TrendParams
    triggers = ("up",)

    def universe(self) -> tuple[str, ...]:
        return (self.p.symbol,)

    def signals(self, panel: Panel) -> pd.DataFrame:
        up = uptrend(panel.prices[self.p.symbol], self.p.lookback_bars, self.p.threshold_pct)
        on_calendar = up.reindex(panel.index).ffill().fillna(False).astype(bool)
        return pd.DataFrame({"up": on_calendar}, index=panel.index)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind not in ("start", "listing") and not event.kind.startswith("signal:up"):
            return None
        if ctx.signal("up") and self.p.symbol in ctx.tradable:
            return {self.p.symbol: 1.0}
        return {}

"""A sweep shares signals() between sets that read the same parameter values, and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_panel
from pydantic import Field

from engine.core.schedule import build_schedule
from engine.core.strategy import Context, Event, Strategy, StrategyParams, Weights
from engine.sweep.shared_signals import SignalMemo

DAYS = pd.bdate_range("2024-01-01", periods=120)
PRICES = 100 * np.exp(np.cumsum(np.sin(np.arange(120) / 7) * 0.02))


class TrendParams(StrategyParams):
    lookback: int = Field(10, ge=1)
    use_filter: bool = False
    filter_days: int = Field(30, ge=1)
    weight: float = Field(1.0, ge=0, le=1)  # read by on_event only


class Trend(Strategy):
    """Long A while it is above its lookback mean (and, with the filter, its filter mean)."""

    name = "trend-test"
    thesis = "test"
    Params = TrendParams
    p: TrendParams
    triggers = ("up",)
    calls = 0

    def universe(self) -> tuple[str, ...]:
        return ("A",)

    def signals(self, panel) -> pd.DataFrame:
        Trend.calls += 1
        price = panel.prices["A"]
        up = price > price.rolling(self.p.lookback).mean()
        if self.p.use_filter:  # filter_days is read only on this branch
            up &= price > price.rolling(self.p.filter_days).mean()
        return pd.DataFrame({"up": up.astype(float)}, index=panel.index)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind.startswith("signal:up"):
            return {"A": self.p.weight} if ctx.signal("up") == 1.0 else {}
        return None


class IteratesParams(Trend):
    def signals(self, panel) -> pd.DataFrame:
        assert dict(self.p)["lookback"] > 0  # the proxy cannot be iterated
        return super().signals(panel)


def grid() -> list[TrendParams]:
    return [
        TrendParams(lookback=lookback, use_filter=use, filter_days=days, weight=weight)
        for lookback in (5, 10)
        for use in (False, True)
        for days in (20, 40)
        for weight in (0.5, 1.0)
    ]


def test_signals_are_computed_once_per_distinct_read_and_equal_direct_ones():
    panel = make_panel({"A": list(PRICES)}, DAYS)
    memo = SignalMemo(panel)
    Trend.calls = 0
    for params in grid():
        shared = memo.signals(Trend(params))
        pd.testing.assert_frame_equal(shared, Trend(params).signals(panel))
    # without the filter, filter_days is never read: lookback x (off, on x 2 days) = 2 x 3
    assert memo.computed == 6
    assert Trend.calls == 6 + len(grid())


def test_schedules_with_shared_signals_equal_plain_ones():
    panel = make_panel({"A": list(PRICES)}, DAYS)
    memo = SignalMemo(panel)
    for params in grid():
        plain = build_schedule(Trend(params), panel)
        strategy = Trend(params)
        shared = build_schedule(strategy, panel, signals=memo.signals(strategy))
        pd.testing.assert_frame_equal(plain.targets, shared.targets)
        pd.testing.assert_frame_equal(plain.log, shared.log)


def test_a_strategy_the_proxy_cannot_follow_is_computed_plainly():
    panel = make_panel({"A": list(PRICES)}, DAYS)
    memo = SignalMemo(panel)
    for params in grid()[:4]:
        frame = memo.signals(IteratesParams(params))
        pd.testing.assert_frame_equal(frame, Trend(params).signals(panel))
    assert memo.computed == 4 and memo.frames == {}


def test_the_memo_keeps_to_its_budget():
    panel = make_panel({"A": list(PRICES)}, DAYS)
    one_frame_mb = 120 * 8 / 2**20
    memo = SignalMemo(panel, budget_mb=2.5 * one_frame_mb)
    for lookback in range(1, 8):
        memo.signals(Trend(TrendParams(lookback=lookback)))
    (frames,) = memo.frames.values()
    assert len(frames) == 2 and memo.held <= memo.budget
    memo.signals(Trend(TrendParams(lookback=7)))  # still held: no new computation
    assert memo.computed == 7

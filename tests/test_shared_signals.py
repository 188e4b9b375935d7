"""A sweep shares signals() between sets that read the same parameter values, and only then."""

from __future__ import annotations

import numpy as np
import pandas as pd
from conftest import make_panel
from pydantic import Field

from engine.core.schedule import build_schedule
from engine.core.strategy import Context, Event, Strategy, StrategyParams, Weights
from engine.sweep.shared_signals import SignalMemo
from engine.testing import assert_batch_equals_walk

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


def schedules_equal_plain_ones(cls: type[Trend]) -> None:
    """Each set's schedule with the memo's signals equals its plain one (its own signals)."""
    panel = make_panel({"A": list(PRICES)}, DAYS)
    memo = SignalMemo(panel)
    for params in grid():
        plain = build_schedule(cls(params), panel)
        strategy = cls(params)
        shared = build_schedule(strategy, panel, signals=memo.signals(strategy))
        pd.testing.assert_frame_equal(plain.signals, shared.signals)
        pd.testing.assert_frame_equal(plain.targets, shared.targets)
        pd.testing.assert_frame_equal(plain.log, shared.log)


def test_schedules_with_shared_signals_equal_plain_ones():
    schedules_equal_plain_ones(Trend)


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


# --- what signals() reads besides the params: the strategy's own attributes -------------


class DerivesInReset(Trend):
    """`self.window` derived from the params in reset(), read by signals(): no param read
    the recorder sees. Before, every set of a sweep got the first set's frame."""

    def reset(self) -> None:
        self.window = self.p.lookback

    def signals(self, panel) -> pd.DataFrame:
        price = panel.prices["A"]
        up = price > price.rolling(self.window).mean()
        return pd.DataFrame({"up": up.astype(float)}, index=panel.index)


class DerivesInInit(DerivesInReset):
    def __init__(self, params: StrategyParams | None = None) -> None:
        super().__init__(params)
        self.window = 2 * self.p.lookback

    def reset(self) -> None:
        pass


class HandsOnInSignals(Trend):
    """signals() leaves a value for on_event on the instance: a set given a shared frame
    would never get its own."""

    def reset(self) -> None:
        self.level = None

    def signals(self, panel) -> pd.DataFrame:
        self.level = float(self.p.lookback)
        return super().signals(panel)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        return {"A": self.level / 10} if event.kind == "start" else None


def test_sets_whose_attributes_differ_never_share_a_frame():
    for cls in (DerivesInReset, DerivesInInit, HandsOnInSignals):
        schedules_equal_plain_ones(cls)


def test_a_sweep_of_such_sets_decides_as_each_run_alone():
    """decide_all over a sweep's memo (reset, signals, walk: what signals() leaves on the
    strategy, its walk sees) equals build_schedule of each set with its own signals."""
    panel = make_panel({"A": list(PRICES)}, DAYS)
    for cls in (Trend, DerivesInReset, DerivesInInit, HandsOnInSignals):
        assert_batch_equals_walk([cls(params) for params in grid()], panel)


def test_sets_whose_attributes_agree_still_share():
    """Derived attributes equal by value (dicts and lists included, as the built-ins keep)
    share as before: one frame per distinct window."""
    panel = make_panel({"A": list(PRICES)}, DAYS)

    class KeepsLogs(DerivesInReset):
        def reset(self) -> None:
            super().reset()
            self.why: dict = {}
            self.seen: list = []

    memo = SignalMemo(panel)
    for params in grid():
        memo.signals(KeepsLogs(params))
    assert memo.computed == 2  # lookback 5 and 10

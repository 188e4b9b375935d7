"""decide_all: the generic path (one timeline per group of sets, then each set's own
decisions) equals walking each set, and a batch path either equals the walk (the one harness,
`engine.testing.assert_batch_equals_walk`) or declines with a reason."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel
from pydantic import Field

from engine.core import schedule
from engine.core.decisions import Decisions
from engine.core.schedule import EventBook, decide_all
from engine.core.signals import MissingInputWarning
from engine.core.strategy import (
    Context,
    Decline,
    Event,
    Rebalance,
    Strategy,
    StrategyParams,
    Weights,
)
from engine.runs.backtest import prepare
from engine.runs.config import RunConfig, load_run_config
from engine.sweep.shared_signals import SignalMemo
from engine.testing import assert_batch_equals_walk, synthetic_market
from strategies.baselines import SixtyForty, SixtyFortyParams
from strategies.hayes_pivot import HayesPivot, HayesPivotParams
from strategies.liquidity_barometer import LiquidityBarometer, LiquidityBarometerParams

REPO = Path(__file__).resolve().parents[1]

DAYS = pd.bdate_range("2024-01-01", periods=160)
WAVE = 100 * np.exp(np.cumsum(np.sin(np.arange(160) / 6) * 0.02))


class ToyParams(StrategyParams):
    lookback: int = Field(10, ge=1)
    weight: float = Field(1.0, ge=0, le=2)  # read by on_event only
    every: str = "monthly"


class Toy(Strategy):
    """Long A at `weight` while A is above its lookback mean, else B (listed late); rebalances
    on `every` (a param: sets differ in their timeline). Its batch path does the same with
    arrays, after the engine's own timeline."""

    name = "toy-batch"
    thesis = "test"
    Params = ToyParams
    p: ToyParams
    triggers = ("up",)

    def universe(self) -> tuple[str, ...]:
        return ("A", "B")

    def rebalance(self) -> Rebalance:
        return self.p.every  # type: ignore[return-value]

    def signals(self, panel) -> pd.DataFrame:
        price = panel.prices["A"]
        up = price > price.rolling(self.p.lookback).mean()
        return pd.DataFrame({"up": up.astype(float)}, index=panel.index)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if ctx.signal("up") == 1.0:
            return {"A": self.p.weight}
        return {"B": 1.0} if "B" in ctx.tradable else {}

    @classmethod
    def decide_many(cls, strategies, panel, signals, leverage_cap):
        """Every event decides: the target at each event bar from the `up` column, validated
        and capped by the engine's `validate_weights`, the last decision of a bar kept."""
        if any(not isinstance(s, Toy) for s in strategies):
            return Decline("a set of another class")
        book = EventBook(panel)
        bars, rows, offsets = [], [], [0]
        for strategy in strategies:
            frame = schedule.SignalFrame.of(strategy, panel, signals.signals(strategy))
            line = book.timeline(strategy, frame)
            up = frame.frame["up"].to_numpy()
            for i, event, tradable in zip(
                line.positions.tolist(), line.events, line.tradable, strict=True
            ):
                ctx = Context(time=event.time, weights={}, tradable=tradable)
                target = {"A": strategy.p.weight} if up[i] == 1.0 else {}
                if up[i] != 1.0 and "B" in tradable:
                    target = {"B": 1.0}
                weights, _ = schedule.validate_weights(
                    strategy, target, ctx, ("A", "B"), leverage_cap
                )
                row = [weights.get("A", 0.0), weights.get("B", 0.0)]
                if len(bars) > offsets[-1] and bars[-1] == i:
                    rows[-1] = row
                else:
                    bars.append(i)
                    rows.append(row)
            offsets.append(len(bars))
        return Decisions(
            ("A", "B"),
            np.asarray(bars, dtype=np.int64),
            np.asarray(rows, dtype=np.float64).reshape(-1, 2),
            np.asarray(offsets, dtype=np.int64),
        )


class OffByOneBar(Toy):
    """A batch path with a bug: every decision one bar late."""

    @classmethod
    def decide_many(cls, strategies, panel, signals, leverage_cap):
        right = super().decide_many(strategies, panel, signals, leverage_cap)
        return Decisions(right.symbols, right.bar + 1, right.weights, right.offsets)


class Declines(Toy):
    @classmethod
    def decide_many(cls, strategies, panel, signals, leverage_cap):
        return Decline("this toy covers nothing")


class SilentlyDeclines(Toy):
    @classmethod
    def decide_many(cls, strategies, panel, signals, leverage_cap):
        return None  # a user's strategy of before `Decline`: still accepted


def toy_panel():
    b = pd.Series(50 + np.arange(120.0), index=DAYS[40:])  # B lists at bar 40
    return make_panel({"A": list(WAVE), "B": b}, DAYS)


def panel_6040():
    return make_panel({"SPY": list(WAVE), "TLT": list(WAVE[::-1])}, DAYS)


def toy_sets(cls=Toy) -> list[Toy]:
    return [
        cls(ToyParams(lookback=lookback, weight=weight, every=every))
        for lookback in (5, 20)
        for weight in (0.5, 1.5)
        for every in ("weekly", "monthly")
    ]


def test_a_toy_batch_path_is_held_to_the_walk_by_the_harness():
    walked = assert_batch_equals_walk(toy_sets(), toy_panel(), leverage_cap=1.0, require_batch=True)
    kinds = {k.split(":")[0] for s in walked for k in s.log.loc[s.log["decided"], "kind"]}
    assert {"start", "listing", "signal", "rebalance"} <= kinds
    assert any(s.capped for s in walked)  # weight 1.5 is capped to 1.0


def test_the_harness_catches_a_batch_path_one_bar_late():
    with pytest.raises(
        AssertionError, match=r"decide_many: set 0 .*: decision bars differ, first on "
    ):
        assert_batch_equals_walk(toy_sets(OffByOneBar), toy_panel(), leverage_cap=1.0)


def test_batch_path_decline_says_why():
    """Issue 18: a batch path that does not cover the sets said nothing (`return None`)."""
    panel, notes = toy_panel(), []
    sets = toy_sets(Declines)
    decided = decide_all(sets, panel, 1.0, SignalMemo(panel), on_decline=notes.append)
    assert notes == ["this toy covers nothing"]
    assert decided.sets == len(sets)  # the sets were walked instead
    silent = toy_sets(SilentlyDeclines)
    decide_all(silent, panel, 1.0, SignalMemo(panel), on_decline=notes.append)
    assert notes[-1] == "no reason given"
    plain = [SixtyForty(), SixtyForty(SixtyFortyParams(stock_weight=0.3))]
    decide_all(plain, panel_6040(), 1.0, SignalMemo(panel_6040()), on_decline=notes.append)
    assert len(notes) == 2  # no batch path at all: nothing declined, nothing to note
    with pytest.raises(AssertionError, match=r"declined: .*this toy covers nothing"):
        assert_batch_equals_walk(sets, panel, leverage_cap=1.0, require_batch=True)


def test_decide_all_builds_one_timeline_per_group_of_sets(monkeypatch):
    """Issue 22: the timeline (and tradable sets) of every set was rebuilt per set; now once
    per distinct (universe, rebalance, trigger flips)."""
    built = []
    timeline = EventBook.timeline

    def counted(self, strategy, frame):
        built.append(strategy.p)
        return timeline(self, strategy, frame)

    monkeypatch.setattr(EventBook, "timeline", counted)
    panel = toy_panel()
    sets = [
        Declines(ToyParams(lookback=lookback, weight=w / 10, every=every))
        for lookback in (5, 20)
        for w in range(1, 11)
        for every in ("weekly", "monthly")
    ]
    decide_all(sets, panel, 1.0, SignalMemo(panel))
    assert len(built) == 4  # 2 lookbacks (flips) x 2 schedules, for 40 sets


@pytest.mark.parametrize("cap", [1.0, 0.7])
def test_the_generic_path_equals_the_walk_for_sets_with_other_schedules(cap):
    """60-40 sets differ in their rebalance period (their timeline) and weights."""
    sets = [
        SixtyForty(SixtyFortyParams(stock_weight=w, rebalance=r))
        for w in (0.0, 0.3, 0.6, 1.0)
        for r in ("monthly", "quarterly", "yearly")
    ]
    config = RunConfig(strategy="60-40", benchmark=None)
    assert_batch_equals_walk(sets, synthetic_market(), config, leverage_cap=cap)


def test_the_generic_path_equals_the_walk_for_the_toy_without_its_batch_path():
    assert_batch_equals_walk(toy_sets(Declines), toy_panel(), leverage_cap=1.0)


def real_config(shared_data, name: str) -> RunConfig:
    base = load_run_config(REPO / "configs" / name)
    data = base.data.model_copy(update={"source": "directory", "path": shared_data.resolve()})
    return RunConfig.model_validate(base.model_copy(update={"data": data}).model_dump())


class WalkedHayes(HayesPivot):
    """hayes-pivot whose batch path declines (a subclass): the generic path walks it."""


@pytest.mark.realdata
def test_the_generic_path_equals_the_walk_on_real_history(shared_data):
    config = real_config(shared_data, "liquidity-barometer.yaml")
    barometers = [
        LiquidityBarometer(LiquidityBarometerParams(min_change=m, corr_threshold=c))
        for m in (0.0, 0.1, 0.3)
        for c in (0.3, 0.5)
    ]
    _, panel = prepare(config)
    assert_batch_equals_walk(barometers, panel, config)
    config = real_config(shared_data, "hayes-pivot.yaml")
    _, panel = prepare(config)
    notes: list[str] = []
    hayes = [
        WalkedHayes(HayesPivotParams(confirmations=k, rearm_days=r, hold_after_pivot_days=h))
        for k in (1, 2, 3)
        for r in (0, 60)
        for h in (0, 90)
    ]
    walked = assert_batch_equals_walk(hayes, panel, config, leverage_cap=0.8)
    assert sum(len(s.targets) for s in walked) > 3 * len(hayes)  # they trade
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        decide_all(hayes, panel, 0.8, SignalMemo(panel), on_decline=notes.append)
    assert notes == ["a set is not of class HayesPivot (a subclass may change rules)"]


def test_decide_all_keeps_only_recent_frames_and_timelines(monkeypatch):
    """A chunk of sets with frames of their own held every frame and timeline to its end
    (memory, and the collector walked them); now the recent ones only. Sets that come back
    to an evicted frame or timeline (interleaved here) still equal the walk, bit for bit."""
    monkeypatch.setattr(schedule, "RECENT_KEPT", 1)
    sets = toy_sets(Declines)
    interleaved = [sets[k] for k in (0, 4, 1, 5, 2, 6, 3, 7, 0, 7)]
    assert_batch_equals_walk(interleaved, toy_panel(), leverage_cap=1.0)
    kept = schedule.Recent[str, int](2)
    for key in "abcb":
        kept.get(key) or kept.put(key, ord(key))
    assert list(kept.held) == ["c", "b"]  # 'a' was the least recently used


def test_blocks_prepared_ahead_equal_the_walk(monkeypatch):
    """decide_all builds a block of sets' signals, frames and timelines before walking them
    (issue 22: the walks run faster one after another); with blocks of 3 over 10 sets, some
    coming back to a frame an earlier block built, every set still equals its own walk."""
    monkeypatch.setattr(schedule, "PREPARED_AHEAD", 3)
    monkeypatch.setattr(schedule, "RECENT_KEPT", 2)
    sets = toy_sets(Declines)
    interleaved = [sets[k] for k in (0, 4, 1, 5, 2, 6, 3, 7, 0, 7)]
    assert_batch_equals_walk(interleaved, toy_panel(), leverage_cap=1.0)

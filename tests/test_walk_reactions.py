"""The event walk's reactions (engine.core.schedule.reactions): each distinct reaction is
validated once per walk (issue 22), so these pin what must not change with that: a repeated
reaction is still checked against each event's tradable symbols, every capped decision is
counted, a dict the strategy reuses or a ctx.weights it changes alters no record, and weights
that cannot be hashed still walk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel

from engine.core.schedule import (
    SignalFrame,
    Timeline,
    build_schedule,
    decide_all,
    reactions,
)
from engine.core.strategy import Context, Event, Strategy, Weights
from engine.errors import StrategyError
from engine.sweep.shared_signals import SignalMemo

DAYS = pd.bdate_range("2024-01-01", periods=40)
BOTH, ONLY_A = frozenset({"A", "B"}), frozenset({"A"})


class Scripted(Strategy):
    """Returns the reactions of `script` in turn, one per event (None past its end)."""

    name = "scripted"
    thesis = "test"

    def __init__(self, script: list) -> None:
        self.script = script
        super().__init__()

    def reset(self) -> None:
        self.seen = 0

    def universe(self) -> tuple[str, ...]:
        return ("A", "B")

    def signals(self, panel) -> pd.DataFrame:
        return pd.DataFrame({"x": np.arange(len(panel.index), dtype=float)}, index=panel.index)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        self.seen += 1
        return self.script[self.seen - 1] if self.seen <= len(self.script) else None


def panel():
    return make_panel({"A": list(100.0 + np.arange(40.0)), "B": list(50.0 + np.arange(40.0))}, DAYS)


def walk_by_hand(strategy: Strategy, tradable: list[frozenset[str]], cap: float = 1.0):
    """`reactions` over one event per bar with the given tradable symbols at each."""
    made = panel()
    frame = SignalFrame.of(strategy, made, strategy.signals(made))
    events = [Event(DAYS[i], "rebalance") for i in range(len(tradable))]
    line = Timeline(np.arange(len(tradable), dtype=np.int64), events, tradable)
    strategy.reset()
    return reactions(strategy, ("A", "B"), cap, frame, line)


def test_walk_checks_a_repeated_reaction_against_each_events_tradable_symbols():
    """The same {"B": 1.0} passed while B had a price; at the third event it has none."""
    strategy = Scripted([{"B": 1.0}, {"B": 1.0}, {"B": 1.0}])
    with pytest.raises(StrategyError, match=r"asked to hold B on 2024-01-03, with no price"):
        walk_by_hand(strategy, [BOTH, BOTH, ONLY_A])


def test_walk_counts_every_capped_decision_of_a_repeated_reaction():
    strategy = Scripted([{"A": 1.0, "B": 1.0}] * 3 + [{"A": 0.25}])
    decided, capped, _ = walk_by_hand(strategy, [BOTH] * 4)
    assert capped == 3
    assert [weights for _, weights in decided] == [{"A": 0.5, "B": 0.5}] * 3 + [{"A": 0.25}]


def test_walk_takes_weights_that_cannot_be_hashed():
    """A 0-d numpy array is a weight float() reads but a dict key cannot hold."""
    strategy = Scripted([{"A": np.array(0.5)}, {"A": np.array(0.5)}, {"A": np.array(0.0)}])
    decided, _, _ = walk_by_hand(strategy, [BOTH] * 3)
    assert [weights for _, weights in decided] == [{"A": 0.5}, {"A": 0.5}, {}]


def test_walk_records_each_reaction_as_returned_when_the_strategy_reuses_its_dict():
    """A strategy that returns one dict object and changes it afterwards: each decision is
    what the dict held when it was returned (walk and decide_all alike)."""

    class Reuses(Scripted):
        def reset(self) -> None:
            super().reset()
            self.held: dict[str, float] = {}

        def on_event(self, event: Event, ctx: Context) -> Weights | None:
            self.seen += 1
            if self.seen > 4:
                return None
            self.held["A"] = 0.125 * self.seen  # changes the dict returned at the last event
            if self.seen == 3:
                self.held["B"] = 0.25
            return self.held

    made = panel()
    schedule = build_schedule(Reuses([]), made)
    assert schedule.targets.to_dict("records") == [{"A": 0.125, "B": 0.0}]  # one bar: the last
    decided, _, _ = walk_by_hand(Reuses([]), [BOTH] * 4)
    expected = [{"A": 0.125}, {"A": 0.25}, {"A": 0.375, "B": 0.25}, {"A": 0.5, "B": 0.25}]
    assert [weights for _, weights in decided] == expected
    batch = decide_all([Reuses([])], made, 1.0, SignalMemo(made))
    assert batch.weights.tolist() == [[0.125, 0.0]]


def test_a_strategy_changing_ctx_weights_changes_no_record():
    """ctx.weights is a copy: clearing or changing it neither alters a decision already
    recorded nor what the next event's ctx.weights shows."""
    shown: list[dict] = []

    class Meddles(Scripted):
        def on_event(self, event: Event, ctx: Context) -> Weights | None:
            shown.append(dict(ctx.weights))
            reaction = super().on_event(event, ctx)
            ctx.weights["A"] = 99.0  # type: ignore[index]
            ctx.weights.clear()  # type: ignore[attr-defined]
            return reaction

    strategy = Meddles([{"A": 0.5}, None, {"A": 0.5}, None])
    decided, _, _ = walk_by_hand(strategy, [BOTH] * 4)
    assert [weights for _, weights in decided] == [{"A": 0.5}, {"A": 0.5}]
    assert shown == [{}, {"A": 0.5}, {"A": 0.5}, {"A": 0.5}]


def test_walk_still_notes_the_signals_a_repeated_reaction_read():
    """The unused-signals guard rail hears of every read, also when the reaction repeats."""

    class Reads(Scripted):
        def on_event(self, event: Event, ctx: Context) -> Weights | None:
            return {"A": 0.5} if float(ctx.signal("x")) >= 0 else {}  # type: ignore[arg-type]

    _, _, read = walk_by_hand(Reads([]), [BOTH] * 3)
    assert read == {"x"}


def test_context_keeps_its_contract():
    """Context became a named tuple (the walk builds one per event; issue 22): its fields by
    name or position, an empty read-only `signals` by default, `signal(name)`, and no field
    can be assigned (a strategy setting ctx.weights gets an error, not a silent no-op)."""
    day = DAYS[0]
    plain = Context(time=day, weights={"A": 0.5}, tradable=BOTH)
    assert (plain.time, plain.weights, plain.tradable) == (day, {"A": 0.5}, BOTH)
    assert dict(plain.signals) == {}
    with pytest.raises(TypeError):
        plain.signals["x"] = 1.0  # type: ignore[index]
    given = Context(day, {}, ONLY_A, {"x": 2.0})
    assert given.signal("x") == 2.0 and given.signals == {"x": 2.0}
    with pytest.raises(AttributeError):
        given.weights = {"A": 1.0}  # type: ignore[misc]


class ReadsEverything(Strategy):
    """Records every signal value of every event, as on_event sees it."""

    name = "reads-everything"
    thesis = "test"

    def universe(self) -> tuple[str, ...]:
        return ("A",)

    def rebalance(self):
        return "daily"

    def reset(self) -> None:
        self.seen: list[dict] = []

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        self.seen.append({name: ctx.signals[name] for name in ctx.signals})
        return None


def test_signals_reach_on_event_as_python_objects_of_every_dtype():
    """Issue 22: the walk reads each signal value when on_event asks (numbers and bools
    through a memoryview of the column) instead of converting the whole frame to objects;
    whatever the column's dtype, on_event gets what frame.to_numpy(dtype=object) gave: the
    same type and value (NaN, -0.0, pd.NA, timestamps and categories included)."""
    n = len(DAYS)
    rng = np.random.default_rng(0)
    floats = rng.random(n)
    floats[3], floats[4] = np.nan, -0.0
    frame = pd.DataFrame(
        {
            "flag": rng.random(n) > 0.5,
            "f64": floats,
            "f32": rng.random(n).astype("float32"),
            "f16": rng.random(n).astype("float16"),
            "i64": rng.integers(-5, 5, n),
            "u8": rng.integers(0, 5, n).astype("uint8"),
            "nullable_bool": pd.array([True, None] * (n // 2), dtype="boolean"),
            "nullable_float": pd.array([1.5, None] * (n // 2), dtype="Float64"),
            "nullable_int": pd.array([1, None] * (n // 2), dtype="Int64"),
            "time": pd.date_range("2020-01-01", periods=n, tz="UTC"),
            "text": ["a", "b"] * (n // 2),
            "objects": [None, 1] * (n // 2),
            "category": pd.Categorical(["x", "y"] * (n // 2)),
            "complex": rng.random(n) + 1j,
        },
        index=DAYS,
    )
    panel = make_panel({"A": pd.Series(100.0, index=DAYS)})
    strategy = ReadsEverything()
    build_schedule(strategy, panel, signals=frame)
    expected = frame.to_numpy(dtype=object)
    assert len(strategy.seen) == n
    for bar, seen in enumerate(strategy.seen):
        for column, name in enumerate(frame.columns):
            want, got = expected[bar, column], seen[name]
            assert type(got) is type(want), (name, bar)
            if isinstance(want, float) and np.isnan(want):
                assert np.isnan(got)
            elif isinstance(want, float):
                assert (got, np.copysign(1, got)) == (want, np.copysign(1, want)), (name, bar)
            else:
                assert got is want or got == want, (name, bar)

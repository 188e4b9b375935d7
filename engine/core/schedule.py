"""Walk a strategy over its event timeline and record the target weights it decides.

This is the decision half of the look-ahead wall: at each event the strategy sees only what
is known at that bar's close (signals up to the bar, assets with a price at the bar). The
execution half (next-bar fills) lives in `engine.core.simulate`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

from engine.core.decisions import Decisions
from engine.core.panel import Panel, column_values
from engine.core.strategy import (
    Context,
    Decline,
    Event,
    SignalSource,
    Strategy,
    Weights,
    universe_of,
)
from engine.errors import StrategyError
from engine.io.yaml_models import did_you_mean

EVENT_ORDER = {"start": 0, "listing": 1, "fed": 2, "signal": 3, "rebalance": 4}
PERIOD_CODES = {"weekly": "W", "monthly": "M", "quarterly": "Q", "yearly": "Y"}


@dataclass(frozen=True)
class Schedule:
    """A strategy's decisions: targets[t] are the weights decided at bar t's close."""

    targets: pd.DataFrame  # decision bars x universe (only bars where a decision was taken)
    log: pd.DataFrame  # every event: time, kind, detail, decided (bool), gross
    signals: pd.DataFrame  # what the strategy computed, on the panel calendar
    universe: tuple[str, ...]
    capped: int  # decisions scaled down to the leverage cap
    read: frozenset[str] = frozenset()  # signals on_event read through ctx (guard rail)


def build_schedule(
    strategy: Strategy,
    panel: Panel,
    leverage_cap: float = 1.0,
    signals: pd.DataFrame | None = None,
) -> Schedule:
    """Events in time order -> strategy reactions -> validated, leverage-capped targets.

    `signals` is `strategy.signals(panel)` when already computed (a sweep shares them between
    parameter sets, `engine.sweep.shared_signals`): the caller resets the strategy before
    computing them (or before passing frames made elsewhere), so the walk starts from the
    state reset() and signals() leave, whoever computed them.
    """
    universe = universe_of(strategy)
    if signals is None:
        strategy.reset()
        signals = strategy.signals(panel.for_strategy())
    frame = SignalFrame.of(strategy, panel, signals)
    line = EventBook(panel).timeline(strategy, frame)
    return walk(strategy, universe, leverage_cap, frame, line)


def decide_all(
    strategies: Sequence[Strategy],
    panel: Panel,
    leverage_cap: float,
    signals: SignalSource,
    *,
    on_decline: Callable[[str], None] | None = None,
) -> Decisions:
    """Every set's decisions (sets of one strategy class and one universe) as arrays.

    The strategy's `decide_many` batch path when it has one; else (or when it declines:
    `on_decline` hears why, e.g. to print `note: batch path declined: <reason>; walking each
    set`) each set walks its events. What the walk of a set depends on
    besides its own decisions (the event timeline, the tradable symbols at each event, the
    signal rows) is built once per call for the sets that share it, so the per-set work is
    the strategy's `on_event` calls and their validation.
    """
    if not strategies:
        raise ValueError("no parameter sets to decide for")
    cls = type(strategies[0])
    default = Strategy.decide_many.__func__  # type: ignore[attr-defined]
    has_batch_path = getattr(cls.decide_many, "__func__", None) is not default
    # a batch path is the strategy's code: it gets the panel strategies get
    given = panel.for_strategy() if has_batch_path else panel
    batch = cls.decide_many(strategies, given, signals, leverage_cap)
    if isinstance(batch, Decisions):
        return batch
    if on_decline is not None and has_batch_path:
        on_decline(batch.reason if isinstance(batch, Decline) else "no reason given")
    symbols = universe_of(strategies[0])
    bars: list[np.ndarray] = []  # per set, the bars of its decisions
    # every decision's weights in one flat list of floats, row after row: a list per row
    # would keep hundreds of thousands of containers alive for the collector to walk
    flat: list[float] = []
    offsets = [0]
    for strategy, frame, line in _prepared(strategies, panel, signals):
        universe = tuple(strategy.universe())
        decided, _, _ = reactions(strategy, universe, leverage_cap, frame, line)
        kept: list[int] = []
        if decided:
            events, chosen = zip(*decided, strict=True)
            at = line.positions[list(events)]  # in time order: a bar's decisions are adjacent
            kept = np.flatnonzero(np.r_[at[1:] != at[:-1], True]).tolist()  # a bar's last wins
            bars.append(at[kept])
            flat += [chosen[j].get(symbol, 0.0) for j in kept for symbol in symbols]
        offsets.append(offsets[-1] + len(kept))
    bar = np.concatenate(bars) if bars else np.zeros(0, dtype=np.int64)
    return Decisions(
        symbols=symbols,
        bar=bar,
        weights=np.asarray(flat, dtype=np.float64).reshape(len(bar), len(symbols)),
        offsets=np.asarray(offsets, dtype=np.int64),
    )


RECENT_KEPT = 64  # signal frames and timelines one decide_all call keeps for the next sets
PREPARED_AHEAD = 64  # sets whose signals, frames and timelines are built before their walks


def _prepared(
    strategies: Sequence[Strategy], panel: Panel, signals: SignalSource
) -> Iterator[tuple[Strategy, SignalFrame, Timeline]]:
    """Each set with its signal frame and timeline, ready to walk.

    Built a block of sets at a time, then the block is walked: the same walks run ~15% faster
    after one another than each right after its set's pandas work (measured on the trend rule
    of `benchmarks/`). Sets that share a frame or a timeline share the object: the recent
    ones are kept (sets that share them mostly come together), so a chunk of sets with frames
    of their own does not hold every frame and timeline to its end.
    """
    book = EventBook(panel)
    frames: Recent[int, SignalFrame] = Recent(RECENT_KEPT)  # by id of the frame it holds
    lines: Recent[tuple, Timeline] = Recent(RECENT_KEPT)  # by what a timeline depends on

    def prepare(strategy: Strategy, given: pd.DataFrame) -> tuple[SignalFrame, Timeline]:
        frame = frames.get(id(given))
        if frame is None or frame.frame is not given:
            frame = frames.put(id(given), SignalFrame.of(strategy, panel, given))
        key = Timeline.key(strategy, frame)
        line = lines.get(key)
        if line is None:
            line = lines.put(key, book.timeline(strategy, frame))
        return frame, line

    for start in range(0, len(strategies), PREPARED_AHEAD):
        block = strategies[start : start + PREPARED_AHEAD]
        for strategy in block:  # reset, then signals, then the walk, as build_schedule:
            strategy.reset()  # what signals() leaves on the strategy, its walk sees
        given = [signals.signals(strategy) for strategy in block]
        ready = [prepare(strategy, frame) for strategy, frame in zip(block, given, strict=True)]
        for strategy, (frame, line) in zip(block, ready, strict=True):
            yield strategy, frame, line


K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """The `size` most recently used values by key, for one call's work and no more
    (decide_all's frames and timelines, a batch path's frames)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.held: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        found = self.held.pop(key, None)
        if found is not None:
            self.held[key] = found  # now the most recent
        return found

    def put(self, key: K, value: V) -> V:
        self.held[key] = value
        if len(self.held) > self.size:
            del self.held[next(iter(self.held))]
        return value


@dataclass(frozen=True, eq=False)
class SignalFrame:
    """A signal frame as the walk reads it: each column's values by bar, read one at a time
    as Python objects (what `ctx.signals` hands out), and the bars where each trigger flips.
    Sets given the same frame share it."""

    frame: pd.DataFrame
    columns: dict[str, Sequence[object]]  # name -> its values by bar (`_readable`)
    flips: tuple[tuple[str, np.ndarray, np.ndarray], ...]  # (trigger, on bars, off bars)

    @classmethod
    def of(cls, strategy: Strategy, panel: Panel, signals: pd.DataFrame) -> SignalFrame:
        """The frame `signals()` returned, checked: a DataFrame on the panel calendar, one
        column per name, a numeric or bool column for each trigger (a strategy's slip here is
        one error line naming it, not a KeyError from inside the engine)."""
        if isinstance(strategy.triggers, str):
            raise StrategyError(
                f"{strategy.name}: triggers is the string {strategy.triggers!r}",
                f"write triggers = ({strategy.triggers!r},) (mind the comma)",
            )
        if not isinstance(signals, pd.DataFrame):
            raise StrategyError(
                f"{strategy.name}: signals() returned {type(signals).__name__}, not a DataFrame",
                "return pd.DataFrame({name: series, ...}, index=panel.index)",
            )
        if not signals.index.equals(panel.index):
            raise StrategyError(
                f"{strategy.name}: signals are not on the panel calendar",
                "return a frame indexed like panel.index from signals()",
            )
        series = dict(signals.items())  # each column read once
        if len(series) != signals.shape[1]:
            raise StrategyError(
                f"{strategy.name}: signals() returned two columns of one name",
                "give each signal column its own name",
            )
        flips = []
        for name in strategy.triggers:
            flag = _trigger_flags(strategy, name, series)
            previous = np.concatenate(([False], flag[:-1]))
            flips.append((name, np.flatnonzero(flag & ~previous), np.flatnonzero(~flag & previous)))
        return cls(
            frame=signals,
            columns={name: _readable(column) for name, column in series.items()},
            flips=tuple(flips),
        )


def _trigger_flags(strategy: Strategy, name: str, series: dict[str, pd.Series]) -> np.ndarray:
    """Where the trigger `name` is on, by bar: nonzero (a NaN, unknown, counts as off)."""
    column = series.get(name)
    if column is None:
        shown = ", ".join(map(str, series)) or "none"
        raise StrategyError(
            f"{strategy.name}: trigger {name!r} is not one of its signals ({shown})",
            "name a column that signals() returns in `triggers`, or return that column",
        )
    if column.dtype == np.bool_:  # a plain bool column has no unknowns to map
        return column.to_numpy()
    try:
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError):
        raise StrategyError(
            f"{strategy.name}: trigger {name!r} holds {column.dtype} values, not flags",
            "return the trigger as bool or numbers (on: nonzero; NaN: unknown, off)",
        ) from None
    return np.nan_to_num(values, nan=0.0) != 0.0


# what a memoryview of a numpy column reads as Python bool, int and float objects
PYTHON_SCALAR_FORMATS = frozenset("?bBhHiIlLqQfd")


def _readable(column: pd.Series) -> Sequence[object]:
    """The column's values by bar, each read as `frame.to_numpy(dtype=object)` gives it.

    Numbers and bools: a memoryview of the numpy values (indexing one returns the Python
    number, without converting the column: a walk reads a few hundred bars of thousands, and
    the whole frame's conversion cost as much as the walk). Anything else (timestamps,
    nullable and other pandas dtypes, objects): the column converted to objects once."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        view = column.to_numpy().data  # a memoryview of the values
        if view.format in PYTHON_SCALAR_FORMATS:
            return view
    return column.to_numpy(dtype=object)


@dataclass(frozen=True, eq=False)
class Timeline:
    """The events a strategy sees on a panel, in order, with the bar of each and the universe
    symbols that have a price there. It depends on the universe, the rebalance schedule and
    the trigger flips only (`key`): the sets of a sweep that agree on those share one."""

    positions: np.ndarray  # int64: the bar of each event
    events: list[Event]
    tradable: list[frozenset[str]]

    @staticmethod
    def key(strategy: Strategy, frame: SignalFrame) -> tuple:
        flips = tuple((name, on.tobytes(), off.tobytes()) for name, on, off in frame.flips)
        return tuple(strategy.universe()), strategy.rebalance(), flips


class EventBook:
    """What the timelines on one panel share, built the first time a set needs it: the bar
    times, the scheduled events (start, listings, Fed calendar, rebalances) of a universe and
    schedule, the tradable symbols at every bar of a universe and the trigger-flip events
    (frozen, so sets share them). One per `decide_all` call or `build_schedule`: nothing
    outlives the work that needs it."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel
        self.times: list[pd.Timestamp] = list(panel.index)
        # the Events and tradable sets as object arrays: a timeline picks and orders hundreds
        # per set by numpy indexing, not a Python step each
        self._scheduled: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._tradable: dict[tuple[str, ...], np.ndarray] = {}
        self._flips: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # kind -> (Events, made)

    def timeline(self, strategy: Strategy, frame: SignalFrame) -> Timeline:
        """The strategy's events: the scheduled ones and its triggers' flips, in the walk's
        order (`in_event_order`)."""
        universe = tuple(strategy.universe())
        scheduled_bars, scheduled_ranks, scheduled = self.scheduled(universe, strategy.rebalance())
        bars, ranks, events = [scheduled_bars], [scheduled_ranks], [scheduled]
        signal = EVENT_ORDER["signal"]
        for name, on, off in frame.flips:
            for where, kind in ((on, f"signal:{name}:on"), (off, f"signal:{name}:off")):
                bars.append(where)
                ranks.append(np.full(len(where), signal, dtype=np.int64))
                events.append(self.flips(where, kind))
        position = np.concatenate(bars)
        order = ranked_order(position, np.concatenate(ranks))
        position = position[order]
        return Timeline(
            position,
            np.concatenate(events)[order].tolist(),
            self.tradable(universe)[position].tolist(),
        )

    def flips(self, bars: np.ndarray, kind: str) -> np.ndarray:
        """The events of a trigger's flips of `kind` at `bars` (frozen Events shared by the
        sets: a sweep asks for hundreds per set, most made for an earlier set already)."""
        found = self._flips.get(kind)
        if found is None:
            bar_count = len(self.times)
            found = self._flips[kind] = (np.empty(bar_count, object), np.zeros(bar_count, bool))
        events, made = found
        new = bars[~made[bars]]
        if len(new):
            events[new] = _objects([Event(self.times[bar], kind) for bar in new.tolist()])
            made[new] = True
        return events[bars]

    def scheduled(
        self, universe: tuple[str, ...], every: str | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The events that do not depend on signals, as listed (not yet in order): their
        bars, ranks (`event_rank`) and Events."""
        found = self._scheduled.get((universe, every))
        if found is None:
            bars, labels = scheduled_events(self.panel, universe, every)
            position = np.concatenate(bars)
            ranks = np.array([event_rank(kind) for kind, _ in labels], dtype=np.int64)
            events = _objects(
                [
                    Event(self.times[i], kind, detail)
                    for i, (kind, detail) in zip(position.tolist(), labels, strict=True)
                ]
            )
            found = self._scheduled[(universe, every)] = (position, ranks, events)
        return found

    def tradable(self, universe: tuple[str, ...]) -> np.ndarray:
        """The universe symbols with a price, at every bar (an object array of frozensets)."""
        found = self._tradable.get(universe)
        if found is None:
            every_bar = np.arange(len(self.times))
            found = self._tradable[universe] = _objects(
                tradable_sets(self.panel, universe, every_bar)
            )
        return found


def _objects(items: Sequence[object]) -> np.ndarray:
    """A 1-d object array holding `items` as they are (np.array would unpack sequences)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def walk(
    strategy: Strategy,
    universe: tuple[str, ...],
    leverage_cap: float,
    frame: SignalFrame,
    line: Timeline,
) -> Schedule:
    """The strategy's reactions to the timeline's events, validated and leverage-capped, as
    a Schedule (its targets and a log of every event)."""
    decided, capped, read = reactions(strategy, universe, leverage_cap, frame, line)
    targets = pd.DataFrame.from_dict(
        {line.events[k].time: weights for k, weights in decided},
        orient="index",
        columns=list(universe),
    ).fillna(0.0)
    targets.index = pd.DatetimeIndex(targets.index, name="date")
    took = np.zeros(len(line.events), dtype=bool)
    gross = np.zeros(len(line.events), dtype=np.float64)
    for k, weights in decided:
        took[k] = True
        gross[k:] = _gross(weights)  # held from this event on, until the next decision
    log = pd.DataFrame(
        {
            "time": [event.time for event in line.events],
            "kind": [event.kind for event in line.events],
            "detail": [event.detail for event in line.events],
            "decided": took,
            "gross": gross,
        }
    )
    return Schedule(targets.astype("float64"), log, frame.frame, universe, capped, frozenset(read))


def reactions(
    strategy: Strategy,
    universe: tuple[str, ...],
    leverage_cap: float,
    frame: SignalFrame,
    line: Timeline,
) -> tuple[list[tuple[int, dict[str, float]]], int, set[str]]:
    """The walk itself: each event with what is known at its bar, the strategy's reaction
    validated and capped. Returns (event number, weights) per decision, how many were capped
    and the signal names `on_event` read."""
    read: set[str] = set()
    current: dict[str, float] = {}
    decided: list[tuple[int, dict[str, float]]] = []
    capped = 0
    columns = frame.columns
    # most reactions repeat one of a few (weights, tradable) pairs: each distinct pair is
    # validated once per walk; the recorded dicts are never changed, so decisions share them
    checked: dict[tuple, tuple[dict[str, float], bool]] = {}
    on_event, record = strategy.on_event, decided.append  # looked up once, called per event
    for k, (i, event, can_trade) in enumerate(
        zip(line.positions.tolist(), line.events, line.tradable, strict=True)
    ):
        signals = _SignalRow(columns, i, read)
        # Context(...) itself, built by the tuple constructor: a named tuple's own __new__ is
        # a Python function (measured 0.24 -> 0.15 us per event, hundreds of events per set);
        # a copy of the current targets: a strategy that changes ctx.weights changes no record
        ctx = tuple.__new__(Context, (event.time, dict(current), can_trade, signals))
        reaction = on_event(event, ctx)
        if reaction is None:
            continue
        # what validate_weights reads of the reaction (its items in order and the tradable
        # symbols; the time only names an error), as of now: the strategy may change its dict
        try:
            key = (tuple(reaction.items()), can_trade)
            found, hashable = checked.get(key), True
        except (TypeError, AttributeError):  # a weight that cannot be hashed, or not a
            found, hashable = None, False  # dict at all (validate_weights says which)
        if found is None:
            found = validate_weights(strategy, reaction, ctx, universe, leverage_cap)
            if hashable:
                checked[key] = found
        current = found[0]
        capped += found[1]
        record((k, current))
    return decided, capped, read


def unused_signals_note(strategy: Strategy, schedule: Schedule) -> str:
    """A guard rail for authors: signals that no event reads and no trigger flips.

    Without `triggers` a strategy only hears start, listing, Fed-calendar and rebalance
    events: signals it computes but never reads in `on_event` do nothing. Empty when fine.
    """
    computed = [str(c) for c in schedule.signals.columns]
    if not computed or strategy.triggers or schedule.read:
        return ""
    shown = ", ".join(computed[:4]) + (", ..." if len(computed) > 4 else "")
    return (
        f"{strategy.name} computes signals ({shown}) but never uses them: none is in "
        "`triggers` and on_event never read one, so it decides only on start, listing, "
        "Fed-calendar and rebalance events (add `triggers = (...)` to react to a flip)"
    )


def timeline(strategy: Strategy, panel: Panel, signals: pd.DataFrame) -> list[Event]:
    """Every event the strategy will see, in the order it sees them."""
    return EventBook(panel).timeline(strategy, SignalFrame.of(strategy, panel, signals)).events


def event_rank(kind: str) -> int:
    """Where an event of `kind` goes among the events of one bar (`EVENT_ORDER`)."""
    return EVENT_ORDER[kind.split(":")[0]]


def in_event_order(position: np.ndarray, kinds: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The walk's order of events at bars `position` with `kinds`: by bar, then start <
    listing < fed < signal < rebalance, then as listed. Returns (sorted bars, order)."""
    rank = np.array([event_rank(kind) for kind in kinds], dtype=np.int64)
    order = ranked_order(position, rank)
    return position[order], order


def ranked_order(position: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """The walk's order of events at bars `position` with ranks `rank` (`event_rank`): by
    bar, then rank, then as listed (a stable sort)."""
    return np.lexsort((rank, position))


def scheduled_events(
    panel: Panel, universe: tuple[str, ...], every: str | None
) -> tuple[list[np.ndarray], list[tuple[str, str]]]:
    """The events that do not depend on signals (start, listings, the Fed calendar,
    rebalances), as bar arrays and a (kind, detail) label per bar, in listing order (not yet
    sorted: `in_event_order`)."""
    index = panel.index
    bars: list[np.ndarray] = []
    labels: list[tuple[str, str]] = []  # (kind, detail), parallel to the concatenated bars

    def add(where: np.ndarray, kind: str, detail: str = "") -> None:
        bars.append(np.asarray(where, dtype=np.int64))
        labels.extend([(kind, detail)] * len(where))

    add(np.array([0]), "start")
    for symbol in universe:
        first = panel.first_bar(symbol)
        if first is not None and first > index[0]:
            add(index.get_indexer([first]), "listing", symbol)
    fed = panel.events
    if len(fed):
        bars.append(index.get_indexer(pd.DatetimeIndex(fed["bar"])).astype(np.int64))
        labels.extend(
            (f"fed:{kind}", description)
            for kind, description in zip(fed["kind"], fed["description"], strict=True)
        )
    add(index.get_indexer(rebalance_bars(index, every)), "rebalance")
    return bars, labels


def tradable_sets(
    panel: Panel, universe: tuple[str, ...], positions: np.ndarray
) -> list[frozenset[str]]:
    """The universe symbols with a price at each of the bars `positions`, one frozenset per
    pattern."""
    has_price = column_values(panel.prices, universe)[positions]
    has_price = ~np.isnan(has_price) if len(universe) else has_price.astype(bool)
    shared: dict[bytes, frozenset[str]] = {}
    out = []
    for row in has_price:
        key = row.tobytes()
        found = shared.get(key)
        if found is None:
            found = shared[key] = frozenset(s for s, ok in zip(universe, row, strict=True) if ok)
        out.append(found)
    return out


class _SignalRow(Mapping[str, object]):
    """A bar's signal values, read from the frame's columns on demand (no dict per event);
    the names read are noted in `read` (the unused-signals guard rail)."""

    __slots__ = ("_bar", "_columns", "_read")

    def __init__(self, columns: dict[str, Sequence[object]], bar: int, read: set[str]) -> None:
        self._columns, self._bar, self._read = columns, bar, read

    def __getitem__(self, name: str) -> object:
        value = self._columns[name][self._bar]
        self._read.add(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def rebalance_bars(index: pd.DatetimeIndex, every: str | None) -> pd.DatetimeIndex:
    """The first bar of each new period: that the period turned is known at its close.

    (Deciding on the last bar of a period would need tomorrow's date: look-ahead.)
    """
    if every is None:
        return pd.DatetimeIndex([])
    if every == "daily":
        return index[1:]
    if every not in PERIOD_CODES:
        choices = ["daily", *PERIOD_CODES]
        listed = f"return one of {', '.join(choices)}, or None for no schedule"
        raise StrategyError(
            f"rebalance() returned {every!r}, not a schedule",
            did_you_mean(every, choices, otherwise=listed) if isinstance(every, str) else listed,
        )
    periods = index.to_period(PERIOD_CODES[every])
    first_of_period = np.r_[False, periods[1:] != periods[:-1]]
    return index[first_of_period]


def validate_weights(
    strategy: Strategy, weights: Weights, ctx: Context, universe: tuple[str, ...], cap: float
) -> tuple[dict[str, float], bool]:
    """A reaction as the walk records it: symbols in the universe, finite, held only where
    tradable, zeros dropped, scaled down to the leverage cap. Returns (weights, was capped)."""
    if not callable(getattr(weights, "items", None)):
        raise StrategyError(
            f"{strategy.name}: on_event returned {type(weights).__name__} on {ctx.time.date()}, "
            "not weights",
            "return target weights as a dict such as {'QQQ': 1.0}, {} for all cash, or None "
            "to keep the current ones",
        )
    clean: dict[str, float] = {}
    gross = 0.0
    for symbol, weight in weights.items():
        if symbol not in universe:
            raise StrategyError(
                f"{strategy.name} asked for {symbol!r} on {ctx.time.date()}, not in its universe",
                f"add it to universe() or use one of {', '.join(universe)}",
            )
        try:
            weight = float(weight)
        except (TypeError, ValueError):
            raise StrategyError(
                f"{strategy.name}: weight {weight!r} for {symbol} on {ctx.time.date()} is not a "
                "number",
                "return numbers as weights",
            ) from None
        if not math.isfinite(weight):
            raise StrategyError(
                f"{strategy.name}: weight {weight} for {symbol} on {ctx.time.date()}",
                "return finite weights",
            )
        if weight != 0.0 and symbol not in ctx.tradable:
            raise StrategyError(
                f"{strategy.name} asked to hold {symbol} on {ctx.time.date()}, with no price",
                "check ctx.tradable before targeting an asset",
            )
        if weight != 0.0:
            clean[symbol] = weight
            gross += abs(weight)  # the sum _gross(clean) takes, in the same order
    if gross > cap * (1 + 1e-12):
        return {s: w * cap / gross for s, w in clean.items()}, True
    return clean, False


def _gross(weights: Weights) -> float:
    return float(sum(map(abs, weights.values())))

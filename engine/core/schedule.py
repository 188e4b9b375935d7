"""Walk a strategy over its event timeline and record the target weights it decides.

This is the decision half of the look-ahead wall: at each event the strategy sees only what
is known at that bar's close (signals up to the bar, assets with a price at the bar). The
execution half (next-bar fills) lives in `engine.core.simulate`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.strategy import Context, Event, SignalSource, Strategy, Weights
from engine.errors import StrategyError

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
    parameter sets, `engine.sweep.shared_signals`).

    A sweep calls this once per parameter set, so the per-bar work is done with numpy and
    only at event bars: a bar's signal values are read from its row on demand, and each
    distinct set of tradable symbols is one shared frozenset.
    """
    strategy.reset()
    universe = tuple(strategy.universe())
    if signals is None:
        signals = strategy.signals(panel)
    if not signals.index.equals(panel.index):
        raise StrategyError(
            f"{strategy.name}: signals are not on the panel calendar",
            "return a frame indexed like panel.index from signals()",
        )
    positions, events = _timeline(strategy, panel, signals)
    tradable = _tradable_sets(panel, universe, positions)
    return walk(strategy, universe, leverage_cap, signals, positions, events, tradable)


def decide_all(
    strategies: Sequence[Strategy],
    panel: Panel,
    leverage_cap: float,
    signals: SignalSource,
) -> Decisions:
    """Every set's decisions (sets of one strategy class and one universe) as arrays.

    The strategy's `decide_many` fast path when it has one, else `build_schedule` per set
    (one set's frame asked for at a time: `signals` decides what it keeps).
    """
    if not strategies:
        raise ValueError("no parameter sets to decide for")
    batch = type(strategies[0]).decide_many(strategies, panel, signals, leverage_cap)
    if batch is not None:
        return batch
    plans = [
        build_schedule(strategy, panel, leverage_cap, signals.signals(strategy)).targets
        for strategy in strategies
    ]
    return Decisions.from_targets(plans, panel.index, tuple(strategies[0].universe()))


def walk(
    strategy: Strategy,
    universe: tuple[str, ...],
    leverage_cap: float,
    signals: pd.DataFrame,
    positions: Sequence[int] | np.ndarray,
    events: Sequence[Event],
    tradable: Sequence[frozenset[str]],
) -> Schedule:
    """The strategy's reactions to `events` (at bar `positions`, with the universe symbols
    `tradable` there), validated and leverage-capped, as a Schedule."""
    columns = {name: k for k, name in enumerate(signals.columns)}
    signal_rows = signals.to_numpy(dtype=object)
    read: set[str] = set()
    current: dict[str, float] = {}
    decided: dict[pd.Timestamp, dict[str, float]] = {}
    log_rows, capped = [], 0
    for i, event, can_trade in zip(positions, events, tradable, strict=True):
        ctx = Context(
            time=event.time,
            weights=dict(current),
            tradable=can_trade,
            signals=_SignalRow(signal_rows[i], columns, read),
        )
        reaction = strategy.on_event(event, ctx)
        if reaction is not None:
            weights, was_capped = _validated(strategy, reaction, ctx, universe, leverage_cap)
            capped += was_capped
            current = weights
            decided[event.time] = weights
        log_rows.append(
            (event.time, event.kind, event.detail, reaction is not None, _gross(current))
        )

    targets = pd.DataFrame.from_dict(decided, orient="index", columns=list(universe)).fillna(0.0)
    targets.index = pd.DatetimeIndex(targets.index, name="date")
    log = pd.DataFrame(log_rows, columns=["time", "kind", "detail", "decided", "gross"])
    return Schedule(targets.astype("float64"), log, signals, universe, capped, frozenset(read))


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
    return _timeline(strategy, panel, signals)[1]


def _timeline(
    strategy: Strategy, panel: Panel, signals: pd.DataFrame
) -> tuple[np.ndarray, list[Event]]:
    """The events in order (by bar, then start < listing < fed < signal < rebalance, then as
    listed below) and the bar position of each."""
    index = panel.index
    bars: list[np.ndarray] = []
    labels: list[tuple[str, str]] = []  # (kind, detail), parallel to the concatenated bars

    def add(where: np.ndarray, kind: str, detail: str = "") -> None:
        bars.append(np.asarray(where, dtype=np.int64))
        labels.extend([(kind, detail)] * len(where))

    add(np.array([0]), "start")
    for symbol in strategy.universe():
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
    for name in strategy.triggers:
        values = signals[name].to_numpy(dtype=np.float64, na_value=np.nan)
        flag = np.nan_to_num(values, nan=0.0) != 0.0  # unknown counts as off
        previous = np.r_[False, flag[:-1]]
        add(np.flatnonzero(flag & ~previous), f"signal:{name}:on")
        add(np.flatnonzero(~flag & previous), f"signal:{name}:off")
    add(index.get_indexer(rebalance_bars(index, strategy.rebalance())), "rebalance")

    position = np.concatenate(bars)
    rank = np.array([EVENT_ORDER[kind.split(":")[0]] for kind, _ in labels], dtype=np.int64)
    order = np.lexsort((rank, position))  # stable: ties keep the order they were listed in
    position = position[order]
    times = index[position]
    events = [Event(time, *labels[k]) for time, k in zip(times, order.tolist(), strict=True)]
    return position, events


def _tradable_sets(
    panel: Panel, universe: tuple[str, ...], positions: np.ndarray
) -> list[frozenset[str]]:
    """The universe symbols with a price at each event bar, one frozenset per pattern."""
    has_price = panel.prices[list(universe)].to_numpy()[positions]
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
    """A bar's signal values, read from the row on demand (no dict per event); the names
    read are noted in `read` (the unused-signals guard rail)."""

    __slots__ = ("_columns", "_read", "_row")

    def __init__(self, row: np.ndarray, columns: dict[str, int], read: set[str]) -> None:
        self._row, self._columns, self._read = row, columns, read

    def __getitem__(self, name: str) -> object:
        value = self._row[self._columns[name]]
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
    periods = index.to_period(PERIOD_CODES[every])
    first_of_period = np.r_[False, periods[1:] != periods[:-1]]
    return index[first_of_period]


def _validated(
    strategy: Strategy, weights: Weights, ctx: Context, universe: tuple[str, ...], cap: float
) -> tuple[dict[str, float], bool]:
    clean: dict[str, float] = {}
    for symbol, weight in weights.items():
        if symbol not in universe:
            raise StrategyError(
                f"{strategy.name} asked for {symbol!r} on {ctx.time.date()}, not in its universe",
                f"add it to universe() or use one of {', '.join(universe)}",
            )
        weight = float(weight)
        if not np.isfinite(weight):
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
    gross = _gross(clean)
    if gross > cap * (1 + 1e-12):
        return {s: w * cap / gross for s, w in clean.items()}, True
    return clean, False


def _gross(weights: Weights) -> float:
    return float(sum(abs(w) for w in weights.values()))

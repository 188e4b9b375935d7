"""Walk a strategy over its event timeline and record the target weights it decides.

This is the decision half of the look-ahead wall: at each event the strategy sees only what
is known at that bar's close (signals up to the bar, assets with a price at the bar). The
execution half (next-bar fills) lives in `engine.simulate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.panel import Panel
from engine.errors import StrategyError
from strategies.base import Context, Event, Strategy, Weights

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


def build_schedule(strategy: Strategy, panel: Panel, leverage_cap: float = 1.0) -> Schedule:
    """Events in time order -> strategy reactions -> validated, leverage-capped targets."""
    strategy.reset()
    universe = tuple(strategy.universe())
    signals = strategy.signals(panel)
    if not signals.index.equals(panel.index):
        raise StrategyError(
            f"{strategy.name}: signals are not on the panel calendar",
            "return a frame indexed like panel.index from signals()",
        )
    events = timeline(strategy, panel, signals)
    tradable = panel.prices[list(universe)].notna().to_numpy()
    position = {t: i for i, t in enumerate(panel.index)}
    signal_names = list(signals.columns)
    signal_rows = signals.to_numpy(dtype=object)

    current: dict[str, float] = {}
    decided: dict[pd.Timestamp, dict[str, float]] = {}
    log_rows, capped = [], 0
    for event in events:
        i = position[event.time]
        ctx = Context(
            time=event.time,
            weights=dict(current),
            tradable=frozenset(s for s, ok in zip(universe, tradable[i], strict=True) if ok),
            signals=dict(zip(signal_names, signal_rows[i], strict=True)),
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
    return Schedule(targets.astype("float64"), log, signals, universe, capped)


def timeline(strategy: Strategy, panel: Panel, signals: pd.DataFrame) -> list[Event]:
    """Every event the strategy will see, in the order it sees them."""
    index = panel.index
    events = [Event(index[0], "start")]
    for symbol in strategy.universe():
        first = panel.first_bar(symbol)
        if first is not None and first > index[0]:
            events.append(Event(first, "listing", symbol))
    for row in panel.events.itertuples(index=False):
        events.append(Event(row.bar, f"fed:{row.kind}", row.description))
    for name in strategy.triggers:
        flag = signals[name].astype("float64").fillna(0.0) != 0.0  # unknown counts as off
        previous = flag.shift(1, fill_value=False)
        events += [Event(t, f"signal:{name}:on") for t in index[flag & ~previous]]
        events += [Event(t, f"signal:{name}:off") for t in index[~flag & previous]]
    events += [Event(t, "rebalance") for t in rebalance_bars(index, strategy.rebalance())]
    return sorted(events, key=lambda e: (e.time, EVENT_ORDER[e.kind.split(":")[0]]))


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

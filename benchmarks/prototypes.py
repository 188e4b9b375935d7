"""A prototype of the next sweep speed-up, to measure its gain before it lands.

The engine already shares signals between sets (`engine.sweep.shared_signals`) and does
per-bar work only at event bars (`engine.schedule`). This prototype also keeps, per panel,
what every set's walk shares: the start, listing, Fed and rebalance events and which symbols
are tradable on each bar, then calls the engine's own `walk`. Nothing here is used by
playbook; the benchmark checks its rows equal the engine's before timing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.data.panel import Panel
from engine.schedule import EVENT_ORDER, Schedule, rebalance_bars, walk
from strategies.base import Event, Strategy


@dataclass
class _PanelFacts:
    """What every set's walk over one panel shares."""

    times: list[pd.Timestamp]
    position: dict[pd.Timestamp, int]
    static_events: dict[tuple, list[tuple[int, int, Event]]]  # (universe, rebalance) ->
    tradable: dict[tuple, list[frozenset[str] | None]]  # universe -> per bar, lazily


_FACTS: dict[int, tuple[Panel, _PanelFacts]] = {}


def _facts(panel: Panel) -> _PanelFacts:
    found = _FACTS.get(id(panel))
    if found is None or found[0] is not panel:
        times = list(panel.index)
        facts = _PanelFacts(times, {t: i for i, t in enumerate(times)}, {}, {})
        _FACTS[id(panel)] = (panel, facts)
        return facts
    return found[1]


def _static_events(
    strategy: Strategy, panel: Panel, facts: _PanelFacts
) -> list[tuple[int, int, Event]]:
    universe = tuple(strategy.universe())
    key = (universe, strategy.rebalance())
    if key not in facts.static_events:
        index = panel.index
        pos = facts.position
        events = [Event(index[0], "start")]
        for symbol in universe:
            first = panel.first_bar(symbol)
            if first is not None and first > index[0]:
                events.append(Event(first, "listing", symbol))
        for row in panel.events.itertuples(index=False):
            events.append(Event(row.bar, f"fed:{row.kind}", row.description))
        rebalances = [Event(t, "rebalance") for t in rebalance_bars(index, strategy.rebalance())]
        keyed = [(pos[e.time], EVENT_ORDER[e.kind.split(":")[0]], e) for e in events]
        tail = [(pos[e.time], EVENT_ORDER["rebalance"], e) for e in rebalances]
        facts.static_events[key] = [*keyed, (-1, -1, Event(index[0], "signals")), *tail]
    return facts.static_events[key]


def _timeline(
    strategy: Strategy, panel: Panel, signals: pd.DataFrame, facts: _PanelFacts
) -> list[tuple[int, Event]]:
    """`engine.schedule.timeline`, in the same order, as (bar position, event)."""
    static = _static_events(strategy, panel, facts)
    split = next(i for i, item in enumerate(static) if item[0] == -1)
    times = facts.times
    flips: list[tuple[int, int, Event]] = []
    order = EVENT_ORDER["signal"]
    for name in strategy.triggers:
        values = signals[name].to_numpy(dtype=np.float64)
        flag = np.nan_to_num(values, nan=0.0) != 0.0
        previous = np.r_[False, flag[:-1]]
        flips += [
            (i, order, Event(times[i], f"signal:{name}:on"))
            for i in np.flatnonzero(flag & ~previous)
        ]
        flips += [
            (i, order, Event(times[i], f"signal:{name}:off"))
            for i in np.flatnonzero(~flag & previous)
        ]
    events = static[:split] + flips + static[split + 1 :]
    events.sort(key=lambda item: (item[0], item[1]))  # stable, as the engine's sort
    return [(i, e) for i, _, e in events]


def fast_build_schedule(
    strategy: Strategy,
    panel: Panel,
    leverage_cap: float = 1.0,
    signals: pd.DataFrame | None = None,
) -> Schedule:
    """`engine.schedule.build_schedule` with the per-panel work done once per panel (the
    timeline's fixed events, each bar's tradable symbols), then the engine's own walk."""
    facts = _facts(panel)
    strategy.reset()
    universe = tuple(strategy.universe())
    if signals is None:
        signals = strategy.signals(panel)
    if not signals.index.equals(panel.index):
        raise ValueError("signals are not on the panel calendar")
    events = _timeline(strategy, panel, signals, facts)
    if universe not in facts.tradable:
        facts.tradable[universe] = [None] * len(panel.index)
    tradable_cache = facts.tradable[universe]
    tradable_values: Any = None
    for i, _ in events:
        if tradable_cache[i] is None:
            if tradable_values is None:
                tradable_values = panel.prices[list(universe)].notna().to_numpy()
            tradable_cache[i] = frozenset(
                s for s, ok in zip(universe, tradable_values[i], strict=True) if ok
            )
    positions = [i for i, _ in events]
    tradable = [tradable_cache[i] for i in positions]
    return walk(
        strategy, universe, leverage_cap, signals, positions, [e for _, e in events], tradable
    )

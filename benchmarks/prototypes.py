"""Prototypes of the sweep speed-ups proposed in the report, to measure their gain.

The engine has since taken a form of both (`engine.sweep.shared_signals`: shared signals
without a hand-kept `DECISION_ONLY` list; `engine.schedule`: per-bar work only at event bars);
the prototype still keeps per-panel facts across sets, so the profile rows show what is left.
Nothing here is used by playbook. Each prototype must give the engine's exact answer; the
benchmark checks it on the workload before timing it.

1. Shared signals: a strategy's `signals(panel)` depends on the panel and on its signal
   parameters only, so sets that differ only in decision parameters (`DECISION_ONLY`) can
   share one computation (`SignalCache`).
2. A leaner event walk (`fast_build_schedule`, same contract and output as
   `engine.schedule.build_schedule`): everything that does not depend on the parameters is
   computed once per panel (bar positions: `build_schedule` builds a dict of every bar's
   Timestamp per set, 8,040 of them on the workload; the start, listing, Fed and rebalance
   events; which symbols are tradable on each bar); signal flips are found with numpy; a
   Context reads its signal values from the bar's row instead of a new dict per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.data.panel import Panel
from engine.schedule import (
    EVENT_ORDER,
    Schedule,
    _gross,
    _SignalRow,
    _validated,
    rebalance_bars,
)
from strategies.base import Context, Event, Strategy


class SignalCache:
    """signals(panel) once per distinct set of signal parameters."""

    def __init__(self, decision_only: tuple[str, ...]) -> None:
        self.decision_only = decision_only
        self.frames: dict[tuple, pd.DataFrame] = {}
        self.computed = 0

    def signals(self, strategy: Strategy, panel: Panel) -> pd.DataFrame:
        params = dict(strategy.p)
        key = (
            id(panel),
            tuple(sorted((k, repr(v)) for k, v in params.items() if k not in self.decision_only)),
        )
        if key not in self.frames:
            self.frames[key] = type(strategy).signals(strategy, panel)
            self.computed += 1
        return self.frames[key]


@dataclass
class _PanelFacts:
    """What every set's walk over one panel shares."""

    times: list[pd.Timestamp]
    position: dict[pd.Timestamp, int]
    static_events: dict[tuple, list[tuple[int, int, Event]]]  # (universe, rebalance) ->
    tradable: dict[tuple, list[frozenset[str] | None]]  # universe -> per bar, lazily
    rows: dict[int, tuple[np.ndarray, dict[str, int]]]  # id(signals) -> object rows, columns


_FACTS: dict[int, tuple[Panel, _PanelFacts]] = {}


def _facts(panel: Panel) -> _PanelFacts:
    found = _FACTS.get(id(panel))
    if found is None or found[0] is not panel:
        times = list(panel.index)
        facts = _PanelFacts(times, {t: i for i, t in enumerate(times)}, {}, {}, {})
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
    strategy: Strategy, panel: Panel, leverage_cap: float = 1.0, keep_log: bool = True
) -> Schedule:
    """`engine.schedule.build_schedule` with the per-panel work done once per panel.

    With `keep_log=False` (what a sweep needs: it reads only `targets`) the event log is
    left empty instead of built and thrown away.
    """
    facts = _facts(panel)
    strategy.reset()
    universe = tuple(strategy.universe())
    signals = strategy.signals(panel)
    if not signals.index.equals(panel.index):
        raise ValueError("signals are not on the panel calendar")
    events = _timeline(strategy, panel, signals, facts)
    if id(signals) not in facts.rows:
        facts.rows[id(signals)] = (
            signals.to_numpy(dtype=object),
            {name: k for k, name in enumerate(signals.columns)},
        )
    rows, columns = facts.rows[id(signals)]
    if universe not in facts.tradable:
        facts.tradable[universe] = [None] * len(panel.index)
    tradable_cache = facts.tradable[universe]
    tradable_values: Any = None

    current: dict[str, float] = {}
    decided: dict[pd.Timestamp, dict[str, float]] = {}
    log_rows, capped = [], 0
    for i, event in events:
        tradable = tradable_cache[i]
        if tradable is None:
            if tradable_values is None:
                tradable_values = panel.prices[list(universe)].notna().to_numpy()
            tradable = frozenset(
                s for s, ok in zip(universe, tradable_values[i], strict=True) if ok
            )
            tradable_cache[i] = tradable
        ctx = Context(
            time=event.time,
            weights=dict(current),
            tradable=tradable,
            signals=_SignalRow(rows[i], columns),
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

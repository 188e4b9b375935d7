"""hayes-pivot's decisions for many parameter sets at once (a sweep's fast path).

The same rules as `HayesPivot.on_event`, `while_waiting` and `rearm`, over arrays, held to
them by tests (tests/test_hayes_batch.py): every set's decision rows equal those of
`engine.core.schedule.build_schedule`, bar for bar and bit for bit. Read the thesis and the
sentences the rules encode in `strategies.hayes_pivot`; this module is only bookkeeping.

What every set of a panel shares is built once per call: per bar, whether it starts the
window, how many listings and which Fed kinds fall on it (in the walk's order), whether it
is a rebalance, its time and which universe symbols have a price. Each set brings its
signal frame's `alarm` and `pivot` columns (shared between sets that read the same signal
params), its limits, which Fed kinds it counts as a pivot and its basket's target at each
tradable pattern (validated and leverage-capped by the engine's `validate_weights`). The
scheduled events per bar are the engine's own (`scheduled_events` put in `in_event_order`);
the kernel walks each set bar by bar in that order (start < listing < fed < signal flips <
rebalance), and declines if the engine's `EVENT_ORDER` ever says otherwise.

It walks only the bars where something can happen (`walked_bars`): the bars with a scheduled
event (shared by all sets) and the bars where the set's frame's alarm or pivot flag changes
(shared by the sets of that frame). On any other bar every step is a no-op: start, listing,
Fed and rebalance steps only act on their own bars, the signal steps only act when the flag
differs from the bar before, and every other value (`on`, the pivot's level) is read only
inside those steps. So a skipped bar changes no state and decides nothing.

`decide_many` returns `Decline(reason)` (the engine then walks each set and a sweep prints
the reason) for anything it does not cover exactly: a subclass, several universes, a frame
the walk would read otherwise, limits too large, a basket the walk would reject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numba import njit

from engine.core.decisions import Decisions
from engine.core.panel import Panel, column_values
from engine.core.schedule import (
    EVENT_ORDER,
    Recent,
    in_event_order,
    scheduled_events,
    validate_weights,
)
from engine.core.strategy import Context, Decline, SignalSource, Strategy

if TYPE_CHECKING:
    from strategies.hayes_pivot import HayesPivot

LIMIT = 2**62  # day limits beyond this are not covered (the walk is used instead)
KERNEL_ORDER = ("start", "listing", "fed", "signal", "rebalance")  # the slots of `_step`
TRIGGERS = ("alarm", "pivot")  # the signal slots of `_step`, in this order
# frames a call keeps alive for the sets after them (sets that share a frame mostly come
# together): a chunk's sets need not hold all their frames, 1.4 MB each, to its end
RECENT_FRAMES = 64


@dataclass(frozen=True)
class PanelBars:
    """What every set of one universe shares on a panel, per bar."""

    listings: np.ndarray  # int64: listing events on the bar
    fed_ptr: np.ndarray  # int64, bars + 1: the bar's Fed events are fed_kind[ptr[i]:ptr[i+1]]
    fed_kind: np.ndarray  # int64: index into fed_kinds, in the walk's order
    fed_kinds: tuple[str, ...]
    rebalance: np.ndarray  # bool
    pattern: np.ndarray  # int64: which tradable pattern (index into `tradable`)
    tradable: tuple[frozenset[str], ...]
    clock: np.ndarray  # int64: the bar's time in the index's unit
    day: int  # a day in that unit

    def scheduled(self) -> np.ndarray:
        """bool per bar: does a scheduled event (the start, a listing, a Fed event, a
        rebalance) fall on it?"""
        found = self.rebalance | (self.listings > 0) | (np.diff(self.fed_ptr) > 0)
        found[0] = True
        return found


def decide_many(
    strategies: Sequence[Strategy],
    panel: Panel,
    signals: SignalSource,
    leverage_cap: float,
    rules: type[HayesPivot],
) -> Decisions | Decline:
    """Every set's decisions, equal to `build_schedule(...).targets` per set; a Decline for
    anything not covered exactly (then the engine walks each set). `rules` is the class whose
    rules these arrays copy: a set of any other class (a subclass may change rules) declines."""
    if not strategies or len(panel.index) == 0:
        return Decline("no sets or an empty panel")
    hayes = [s for s in strategies if type(s) is rules]
    if len(hayes) != len(strategies):
        return Decline(f"a set is not of class {rules.__name__} (a subclass may change rules)")
    if sorted(KERNEL_ORDER, key=EVENT_ORDER.__getitem__) != list(KERNEL_ORDER):
        return Decline("the engine's event order is not the one the kernel walks")
    if tuple(rules.triggers) != TRIGGERS:
        return Decline(f"triggers {rules.triggers} are not the kernel's {TRIGGERS}")
    universe = tuple(hayes[0].universe())
    shared = panel_bars(panel, universe, hayes[0].rebalance())
    if isinstance(shared, Decline):
        return shared
    per_set = _per_set(hayes, panel, signals, universe, shared, leverage_cap)
    if isinstance(per_set, Decline):
        return per_set
    frames, walk, limits, kinds, pivot_kind, base, equal, baskets, rows = per_set
    out_bar, out_row, offsets = _decide(
        shared.listings,
        shared.fed_ptr,
        shared.fed_kind,
        shared.rebalance,
        shared.pattern,
        shared.clock,
        shared.day,
        frames,
        walk.ptr,
        walk.bar,
        walk.alarm,
        walk.pivot,
        limits,
        kinds,
        pivot_kind,
        base,
        equal,
        baskets,
    )
    return Decisions(symbols=universe, bar=out_bar, weights=rows[out_row], offsets=offsets)


def panel_bars(panel: Panel, universe: tuple[str, ...], every: str | None) -> PanelBars | Decline:
    """The engine's scheduled events (`scheduled_events` in `in_event_order`), per bar."""
    index = panel.index
    bars = len(index)
    where, labels = scheduled_events(panel, universe, every)
    position, order = in_event_order(np.concatenate(where), [kind for kind, _ in labels])
    if (position < 0).any():
        return Decline("a listing, Fed event or rebalance is off the panel calendar")
    kinds = [labels[k][0] for k in order.tolist()]
    listings = np.bincount(position[[kind == "listing" for kind in kinds]], minlength=bars).astype(
        np.int64
    )
    rebalance = np.zeros(bars, dtype=np.bool_)
    rebalance[position[[kind == "rebalance" for kind in kinds]]] = True
    fed = [kind.startswith("fed:") for kind in kinds]
    fed_names = [kind[4:] for kind in kinds if kind.startswith("fed:")]
    fed_kinds = tuple(dict.fromkeys(fed_names))
    fed_kind = np.array([fed_kinds.index(name) for name in fed_names], dtype=np.int64)
    fed_ptr = np.zeros(bars + 1, dtype=np.int64)
    fed_ptr[1:] = np.cumsum(np.bincount(position[fed], minlength=bars))
    has_price = ~np.isnan(column_values(panel.prices, universe))
    code = has_price.astype(np.int64) @ (np.int64(1) << np.arange(len(universe), dtype=np.int64))
    patterns, pattern = np.unique(code, return_inverse=True)
    tradable = tuple(
        frozenset(s for j, s in enumerate(universe) if int(c) >> j & 1) for c in patterns
    )
    return PanelBars(
        listings=listings,
        fed_ptr=fed_ptr,
        fed_kind=fed_kind,
        fed_kinds=fed_kinds,
        rebalance=rebalance,
        pattern=pattern.astype(np.int64).ravel(),
        tradable=tradable,
        clock=index.asi8.astype(np.int64),
        day=int(pd.Timedelta(days=1) // pd.Timedelta(1, unit=index.unit)),
    )


def walked_bars(scheduled: np.ndarray, alarm: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    """The bars the kernel walks for one frame, increasing: the scheduled bars and the bars
    where the frame's alarm or pivot flag (`value != 0 and not NaN`, as the walk reads it)
    differs from the bar before (bar 0 is scheduled: the start). Between two walked bars
    both flags stay as they were, so the kernel's `before_alarm` / `before_pivot` are the
    previous bar's flags."""
    walked = scheduled.copy()
    for column in (alarm, pivot):
        flag = (column != 0.0) & ~np.isnan(column)
        walked[1:] |= flag[1:] != flag[:-1]
    return np.flatnonzero(walked).astype(np.int64)


@dataclass(frozen=True)
class Walk:
    """Per frame, the bars the kernel walks and the frame's alarm and pivot values on them:
    frame u's are at [ptr[u]:ptr[u + 1]] of `bar`, `alarm` and `pivot` (no frame-by-bar
    table: the kernel reads the values on walked bars only)."""

    ptr: np.ndarray  # int64, frames + 1
    bar: np.ndarray  # int64
    alarm: np.ndarray  # float64
    pivot: np.ndarray  # float64

    @staticmethod
    def of(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> Walk:
        """From each frame's (bars, alarm there, pivot there), in frame order."""
        ptr = np.zeros(len(parts) + 1, dtype=np.int64)
        ptr[1:] = np.cumsum([len(bars) for bars, _, _ in parts])
        bar, alarm, pivot = (np.concatenate(column) for column in zip(*parts, strict=True))
        return Walk(ptr, bar, alarm, pivot)


def _per_set(
    strategies: Sequence[HayesPivot],
    panel: Panel,
    signals: SignalSource,
    universe: tuple[str, ...],
    shared: PanelBars,
    cap: float,
) -> tuple | Decline:
    sets = len(strategies)
    frames = np.empty(sets, dtype=np.int64)
    limits = np.empty((sets, 3), dtype=np.int64)  # hold, rearm, max wait (-1: none)
    kinds = np.empty(sets, dtype=np.int64)
    baskets = np.empty(sets, dtype=np.int64)
    # id of a recent frame (alive in the value while its id is a key) -> (it, its walk); a
    # frame seen again after it left gets its walk again (the same values, a little work)
    recent: Recent[int, tuple[pd.DataFrame, int]] = Recent(RECENT_FRAMES)
    walks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # per frame
    scheduled = shared.scheduled()
    kind_ids: dict[tuple[str, ...], int] = {}
    basket_ids: dict[tuple, int] = {}
    tables: list[tuple[np.ndarray, np.ndarray]] = []  # (equal, rows) per basket
    for s, strategy in enumerate(strategies):
        p = strategy.p
        frame = signals.signals(strategy)
        seen = recent.get(id(frame))
        if seen is None:
            pair = _triggers(frame, panel)
            if isinstance(pair, Decline):
                return pair
            bars = walked_bars(scheduled, *pair)
            seen = recent.put(id(frame), (frame, len(walks)))
            walks.append((bars, pair[0][bars], pair[1][bars]))
        frames[s] = seen[1]
        wait = p.max_wait_days
        numbers = (p.hold_after_pivot_days, p.rearm_days, 1 if wait is None else wait)
        if not all(0 <= n < LIMIT for n in numbers):
            return Decline(f"a day limit of {numbers} is negative or at least 2**62")
        limits[s] = (p.hold_after_pivot_days, p.rearm_days, -1 if wait is None else wait)
        pivot_kinds = tuple(p.pivot_kinds)
        kinds[s] = kind_ids.setdefault(pivot_kinds, len(kind_ids))
        basket = strategy.basket()
        if tuple(basket) != universe:
            return Decline("the sets trade several universes")
        key = tuple(basket.items())
        found = basket_ids.get(key)
        if found is None:
            table = _basket_table(strategy, universe, shared, cap, panel.index[0])
            if isinstance(table, Decline):
                return table
            found = basket_ids[key] = len(tables)
            tables.append(table)
        baskets[s] = found
    pivot_kind = np.array(
        [[kind in chosen for kind in shared.fed_kinds] for chosen in kind_ids],
        dtype=np.bool_,
    ).reshape(len(kind_ids), len(shared.fed_kinds))
    options = len(shared.tradable) + 1
    equal = np.stack([t[0] for t in tables])
    rows = np.vstack([t[1] for t in tables])
    walk = Walk.of(walks)
    return frames, walk, limits, kinds, pivot_kind, baskets * options, equal, baskets, rows


def _triggers(frame: pd.DataFrame, panel: Panel) -> tuple[np.ndarray, np.ndarray] | Decline:
    """The frame's alarm and pivot columns as floats, or a Decline where the walk reads the
    frame otherwise (another calendar, a missing or duplicated column, a non-numpy dtype)."""
    if not frame.index.equals(panel.index):
        return Decline("a signal frame is not on the panel calendar")
    names = frame.columns.tolist()  # a list: a tenth of the time of an Index lookup
    found = []
    for name in TRIGGERS:
        if names.count(name) != 1:
            return Decline(f"a signal frame has no single {name!r} column")
        values = frame.iloc[:, names.index(name)].to_numpy()
        if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
            return Decline(f"a signal frame's {name!r} column is not numeric")
        found.append(values.astype(np.float64, copy=False))
    return found[0], found[1]


def _basket_table(
    strategy: HayesPivot,
    universe: tuple[str, ...],
    shared: PanelBars,
    cap: float,
    time: pd.Timestamp,
) -> tuple[np.ndarray, np.ndarray] | Decline:
    """One basket's options and comparisons, with the strategy's own code.

    Option 0 is {} (cash); option 1 + k is `invested` at tradable pattern k, validated and
    capped as the walk records it. equal[k, o]: is `invested` at pattern k (what a rebalance
    or listing asks for) the same dict as the weights option o holds (`target == weights`)?
    """
    targets: list[dict[str, float]] = []
    held: list[dict[str, float]] = [{}]
    for tradable in shared.tradable:
        ctx = Context(time=time, weights={}, tradable=tradable)
        target = strategy.invested(ctx)
        try:
            weights, _ = validate_weights(strategy, target, ctx, universe, cap)
        except Exception as error:  # the walk raises there: let it
            return Decline(f"the basket is rejected where {sorted(tradable)} trade: {error}")
        targets.append(target)
        held.append(weights)
    equal = np.array([[t == w for w in held] for t in targets], dtype=np.bool_)
    rows = np.array([[w.get(s, 0.0) for s in universe] for w in held], dtype=np.float64)
    return equal, rows


@njit(cache=True)
def _decide(
    listings,
    fed_ptr,
    fed_kind,
    rebalance,
    pattern,
    clock,
    day,
    frames,
    walk_ptr,
    walk_bar,
    walk_alarm,
    walk_pivot,
    limits,
    kinds,
    pivot_kind,
    base,
    equal,
    baskets,
):  # pragma: no cover - compiled
    """Per set, `on_event` in the walk's order on the bars `walked_bars` lists for its
    frame (on the others nothing can happen: see the module's docstring), with the frame's
    alarm and pivot on those bars (`Walk`). A decision is (bar, row of the options table:
    base[s] + 0 for cash, + 1 + pattern for the basket); a later one on the same bar
    replaces the earlier, as the walk's dict keyed by time does."""
    sets = len(frames)
    size = max(16, 2 * sets)
    out_bar = np.empty(size, dtype=np.int64)
    out_row = np.empty(size, dtype=np.int64)
    offsets = np.zeros(sets + 1, dtype=np.int64)
    n = 0
    for s in range(sets):
        u, k, b, first = frames[s], kinds[s], baskets[s], n
        hold, rearm, max_wait = limits[s, 0], limits[s, 1], limits[s, 2]
        waiting, since, held = False, 0, 0
        pivoted, last_pivot = False, 0
        armed, off_set, off_since = True, False, 0
        before_alarm, before_pivot = False, False
        for j in range(walk_ptr[u], walk_ptr[u + 1]):
            i = walk_bar[j]
            t = clock[i]
            alarm, pivot = walk_alarm[j], walk_pivot[j]
            on = alarm == 1.0
            for e in range(4 + listings[i] + fed_ptr[i + 1] - fed_ptr[i]):
                decided = -1
                step = _step(i, e, listings[i], fed_ptr[i + 1] - fed_ptr[i])
                if step < 0:
                    continue
                if step == 0:  # start
                    waiting = on
                    since = t
                    decided = 0 if on else 1 + pattern[i]
                elif step == 1 or step == 5:  # a listing or a rebalance
                    if step == 5 and not rebalance[i]:
                        continue
                    if waiting:
                        if step == 5:
                            data = pivot == 1.0 and not on
                            waited = (t - since) // day
                            too_long = max_wait >= 0 and waited >= max_wait and not on
                            if data or too_long:
                                decided = 1 + pattern[i]
                    else:
                        holding = pivoted and (t - last_pivot) // day < hold
                        if step == 5 and on and armed and not holding:
                            decided = 0
                        elif not equal[b, pattern[i], held]:
                            decided = 1 + pattern[i]
                    if decided > 0 and waiting:  # a pivot seen in the data, or waited out
                        pivoted, last_pivot, armed = True, t, False
                        off_set, off_since = not on, t
                        waiting = False
                    elif decided == 0:
                        waiting, since = True, t
                elif step == 2:  # a Fed event
                    kind = fed_kind[fed_ptr[i] + e - 1 - listings[i]]
                    if waiting and pivot_kind[k, kind]:
                        pivoted, last_pivot, armed = True, t, False
                        off_set, off_since = not on, t
                        waiting = False
                        decided = 1 + pattern[i]
                elif step == 3:  # the alarm flips
                    flag = alarm != 0.0 and not np.isnan(alarm)
                    if flag and not before_alarm:
                        if not armed and off_set and (t - off_since) // day >= rearm:
                            armed = True
                        off_set = False
                        holding = pivoted and (t - last_pivot) // day < hold
                        if not waiting and armed and not holding:
                            waiting, since = True, t
                            decided = 0
                    elif before_alarm and not flag:
                        off_set, off_since = True, t
                    before_alarm = flag
                else:  # step 4: the pivot flips
                    flag = pivot != 0.0 and not np.isnan(pivot)
                    if flag and not before_pivot and waiting and pivot == 1.0 and not on:
                        pivoted, last_pivot, armed = True, t, False
                        off_set, off_since = True, t
                        waiting = False
                        decided = 1 + pattern[i]
                    before_pivot = flag
                if decided >= 0:
                    held = decided
                    if n > first and out_bar[n - 1] == i:
                        out_row[n - 1] = base[s] + decided
                    else:
                        if n == len(out_bar):
                            out_bar = np.concatenate((out_bar, np.empty_like(out_bar)))
                            out_row = np.concatenate((out_row, np.empty_like(out_row)))
                        out_bar[n], out_row[n] = i, base[s] + decided
                        n += 1
        offsets[s + 1] = n
    return out_bar[:n].copy(), out_row[:n].copy(), offsets


@njit(cache=True)
def _step(i, e, listings, feds):  # pragma: no cover - compiled
    """The e-th event slot of bar i in the walk's order: 0 start (bar 0 only), 1 listing,
    2 Fed, 3 alarm flip, 4 pivot flip, 5 rebalance; -1 for an empty start slot."""
    if e == 0:
        return 0 if i == 0 else -1
    if e <= listings:
        return 1
    if e <= listings + feds:
        return 2
    return 3 + (e - 1 - listings - feds)

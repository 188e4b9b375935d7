"""hayes-pivot's decisions for many parameter sets at once (a sweep's fast path).

The same rules as `HayesPivot.on_event` and `while_waiting`, over arrays, held to them by
tests (tests/test_hayes_batch.py): every set's decision rows equal those of
`engine.schedule.build_schedule`, bar for bar and bit for bit. Read the thesis there; this
module is only its bookkeeping done for thousands of sets in one numba loop.

What is shared by every set of a panel is built once per process: the static events (start,
listings, Fed calendar events, monthly rebalances) in the engine's order, each bar's day
number and which universe symbols have a price there. Each set brings small arrays: the bars
where its stress and pivot triggers turn on and their values at the static events (once per
distinct set of thresholds, compared straight from the shared `StressMeasures` in one numba
pass: a sweep never builds a signal frame per set), its hold and wait limits, which Fed
kinds it counts as a pivot, and its basket's target at each tradable pattern (validated and
leverage-capped by the engine's own `_validated`, so the cap is exact). The kernel walks,
per set, only the bars where that set has an event.

Events that never change a hayes decision are skipped: stress and pivot turning off, and Fed
events of a kind the set does not count as a pivot (in `on_event` both return None whether
waiting or not).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from engine.data.panel import Panel
from engine.decisions import Decisions
from engine.schedule import EVENT_ORDER, _validated, rebalance_bars
from strategies.base import Context, SignalSource, Strategy
from strategies.hayes_pivot import HayesPivot, StressMeasures, Thresholds, thresholds

START, LISTING, FED, STRESS_ON, PIVOT_ON, REBALANCE = 0, 1, 2, 3, 4, 6  # order within a bar
KIND_CODES = {"start": START, "listing": LISTING, "fed": FED, "rebalance": REBALANCE}
SLOTS = 8  # an event's sort key: bar * SLOTS + its kind's code
LIMIT = 2**62  # hold and wait limits beyond this are not covered (the walk is used instead)


@dataclass(frozen=True)
class PanelEvents:
    """What every set of one universe shares on a panel."""

    key: np.ndarray  # static events in the engine's order: bar * SLOTS + kind code
    bar: np.ndarray  # their bars
    kind: np.ndarray  # their kind codes
    fed: np.ndarray  # their Fed kind (index into fed_kinds), -1 for other events
    fed_kinds: tuple[str, ...]
    pattern: np.ndarray  # per bar: which tradable pattern (index into `tradable`)
    tradable: tuple[frozenset[str], ...]  # the universe symbols with a price, per pattern
    time: np.ndarray  # per bar: its time in the index's unit
    day: int  # a day in that unit: (t1 - t0).days is (time[1] - time[0]) // day


def decide_many(
    strategies: Sequence[Strategy],
    panel: Panel,
    signals: SignalSource,
    leverage_cap: float,
) -> Decisions | None:
    """Every set's decisions, equal to `build_schedule(...).targets` per set; None for
    anything not covered exactly (then the engine walks each set)."""
    if not strategies or len(panel.index) == 0:
        return None
    hayes = [s for s in strategies if type(s) is HayesPivot]  # a subclass may change rules
    if len(hayes) != len(strategies):
        return None
    universe = tuple(hayes[0].universe())
    shared = _shared_events(panel, hayes[0], universe)
    if shared is None:
        return None
    per_set = _per_set(hayes, panel, signals, universe, shared, leverage_cap)
    if per_set is None:
        return None
    (frames, hold, max_wait, kinds, pivot_kind, baskets, base, equal, rows, sig) = per_set
    bound = len(shared.key) + sig["stress_count"][frames] + sig["pivot_count"][frames]
    out_bar, out_row, offsets = _decide(
        shared.key,
        shared.bar,
        shared.kind,
        shared.fed,
        shared.pattern,
        shared.time,
        shared.day,
        frames,
        hold,
        max_wait,
        kinds,
        pivot_kind,
        baskets,
        base,
        equal,
        sig["stress_static"],
        sig["pivot_static"],
        sig["stress_ptr"],
        sig["stress_bar"],
        sig["pivot_ptr"],
        sig["pivot_bar"],
        sig["pivot_stress"],
        sig["pivot_pivot"],
        int(bound.sum()),
    )
    return Decisions(symbols=universe, bar=out_bar, weights=rows[out_row], offsets=offsets)


EVENTS_KEPT = 8  # panels x universes whose static events are kept (a sweep has a few)
_EVENTS: dict[tuple, tuple[Panel, PanelEvents | None]] = {}


def _shared_events(
    panel: Panel, strategy: Strategy, universe: tuple[str, ...]
) -> PanelEvents | None:
    """`panel_events`, once per panel, universe and rebalance period for the process (every
    chunk of a sweep asks for the same)."""
    key = (id(panel), universe, strategy.rebalance())
    found = _EVENTS.get(key)
    if found is None or found[0] is not panel:
        while len(_EVENTS) >= EVENTS_KEPT:
            del _EVENTS[next(iter(_EVENTS))]
        found = _EVENTS[key] = (panel, panel_events(panel, strategy, universe))
    return found[1]


def panel_events(panel: Panel, strategy: Strategy, universe: tuple[str, ...]) -> PanelEvents | None:
    """The static events of `engine.schedule._timeline` (its order: by bar, then start <
    listing < fed < rebalance, ties as listed) and the per-bar arrays every set reads."""
    index = panel.index
    bars: list[np.ndarray] = [np.array([0])]
    ranks: list[int] = [EVENT_ORDER["start"]]
    codes: list[int] = [START]
    feds: list[int] = [-1]
    for symbol in universe:
        first = panel.first_bar(symbol)
        if first is not None and first > index[0]:
            bars.append(index.get_indexer([first]))
            ranks.append(EVENT_ORDER["listing"])
            codes.append(LISTING)
            feds.append(-1)
    events = panel.events
    fed_kinds: tuple[str, ...] = ()
    if len(events):
        at = index.get_indexer(pd.DatetimeIndex(events["bar"]))
        if (at < 0).any():
            return None  # a Fed event off the calendar: the walk's order is not ours
        fed_kinds = tuple(dict.fromkeys(str(k) for k in events["kind"]))
        bars.append(at)
        ranks += [EVENT_ORDER["fed"]] * len(at)
        codes += [FED] * len(at)
        feds += [fed_kinds.index(str(k)) for k in events["kind"]]
    every = strategy.rebalance()
    rebalances = index.get_indexer(rebalance_bars(index, every))
    bars.append(rebalances)
    ranks += [EVENT_ORDER["rebalance"]] * len(rebalances)
    codes += [REBALANCE] * len(rebalances)
    feds += [-1] * len(rebalances)

    bar = np.concatenate(bars).astype(np.int64)
    order = np.lexsort((np.array(ranks), bar))  # stable, as the walk's
    bar = bar[order]
    kind = np.array(codes, dtype=np.int64)[order]

    has_price = ~np.isnan(panel.prices[list(universe)].to_numpy(dtype=np.float64))
    code = has_price.astype(np.int64) @ (np.int64(1) << np.arange(len(universe), dtype=np.int64))
    patterns, pattern = np.unique(code, return_inverse=True)
    tradable = tuple(
        frozenset(s for j, s in enumerate(universe) if int(c) >> j & 1) for c in patterns
    )
    return PanelEvents(
        key=bar * SLOTS + kind,
        bar=bar,
        kind=kind,
        fed=np.array(feds, dtype=np.int64)[order],
        fed_kinds=fed_kinds,
        pattern=pattern.astype(np.int64).ravel(),
        tradable=tradable,
        time=index.asi8.astype(np.int64),
        day=int(pd.Timedelta(days=1) // pd.Timedelta(1, unit=index.unit)),
    )


def _per_set(
    strategies: Sequence[HayesPivot],
    panel: Panel,
    signals: SignalSource,
    universe: tuple[str, ...],
    shared: PanelEvents,
    cap: float,
) -> tuple | None:
    sets = len(strategies)
    frames = np.empty(sets, dtype=np.int64)
    hold = np.empty(sets, dtype=np.int64)
    max_wait = np.empty(sets, dtype=np.int64)
    kinds = np.empty(sets, dtype=np.int64)
    baskets = np.empty(sets, dtype=np.int64)
    trigger_ids: dict[tuple, int] = {}
    triggers: list[tuple] = []  # trigger events per distinct (stress, pivot) pair
    keep: list[object] = []  # what an id in a key is of, alive while the key is used
    kind_ids: dict[tuple[str, ...], int] = {}
    basket_ids: dict[tuple, int] = {}
    basket_tables: list[tuple[np.ndarray, np.ndarray]] = []  # (equal, rows) per basket
    for s, strategy in enumerate(strategies):
        p = strategy.p
        found = _trigger_row(strategy, panel, signals, shared.bar, trigger_ids, triggers, keep)
        if found is None:
            return None
        frames[s] = found
        held, wait = p.hold_after_pivot_days, p.max_wait_days
        if not 0 <= held < LIMIT or (wait is not None and not 0 < wait < LIMIT):
            return None
        hold[s], max_wait[s] = held, -1 if wait is None else wait
        pivot_kinds = tuple(p.pivot_kinds)
        found = kind_ids.get(pivot_kinds)
        if found is None:
            found = kind_ids[pivot_kinds] = len(kind_ids)
        kinds[s] = found
        basket = strategy.basket()
        if tuple(basket) != universe:
            return None  # sets of several universes
        key = tuple(basket.items())
        found = basket_ids.get(key)
        if found is None:
            table = _basket_table(strategy, universe, shared, cap, panel.index[0])
            if table is None:
                return None
            found = basket_ids[key] = len(basket_tables)
            basket_tables.append(table)
        baskets[s] = found
    pivot_kind = np.array(
        [[kind in kinds_ for kind in shared.fed_kinds] for kinds_ in kind_ids],
        dtype=np.bool_,
    ).reshape(len(kind_ids), len(shared.fed_kinds))
    options = len(shared.tradable) + 1
    equal = np.stack([t[0] for t in basket_tables])
    rows = np.vstack([t[1] for t in basket_tables])
    base = baskets * options
    sig = _signal_arrays(triggers)
    return frames, hold, max_wait, kinds, pivot_kind, baskets, base, equal, rows, sig


def _trigger_row(
    strategy: HayesPivot,
    panel: Panel,
    signals: SignalSource,
    static: np.ndarray,
    ids: dict[tuple, int],
    triggers: list[tuple],
    keep: list[object],
) -> int | None:
    """Which distinct (stress, pivot) pair a set decides on, its trigger events added when
    new: compared from the shared measures when the source has them (sets with the same
    thresholds share them), else read from the set's frame. None when a frame is not one
    the walk reads the same."""
    measures = signals.measures(strategy)
    if measures is not None:
        if not isinstance(measures, StressMeasures) or measures.inputs.shape != panel.index.shape:
            return None
        t = thresholds(strategy.p)
        key: tuple = (id(measures), t)
        found = ids.get(key)
        if found is None:
            keep.append(measures)
            found = ids[key] = len(triggers)
            triggers.append(measured_events(measures, t, static))
        return found
    frame = signals.signals(strategy)
    key = (id(frame),)
    found = ids.get(key)
    if found is None:
        if not frame.index.equals(panel.prices.index) or not {"stress", "pivot"} <= set(frame):
            return None  # the walk raises: let it
        stress, pivot = _column(frame, "stress"), _column(frame, "pivot")
        if stress is None or pivot is None:
            return None
        keep.append(frame)
        found = ids[key] = len(triggers)
        triggers.append(frame_events(stress, pivot, static))
    return found


def stress_and_pivot(m: StressMeasures, t: Thresholds) -> tuple[np.ndarray, np.ndarray]:
    """The frame's `stress` and `pivot` columns (`stress_signals`), from the measures: the
    same comparisons with the same numbers, so the same bits (tested). A sweep does not
    keep them: `measured_events` gives only their trigger events, from the same pass."""
    found = _measured_events(np.empty(0, dtype=np.int64), True, *_measure_args(m, t))
    return found[6], found[7]


def measured_events(m: StressMeasures, t: Thresholds, static: np.ndarray) -> tuple:
    """`frame_events` of `stress_and_pivot(m, t)`, in one pass without building either
    series (a sweep asks for one per distinct set of thresholds)."""
    return _measured_events(static, False, *_measure_args(m, t))[:6]


def _measure_args(m: StressMeasures, t: Thresholds) -> tuple:
    return (
        m.btc_vs_nasdaq,
        m.btc_30d,
        m.gold_30d,
        m.igv_vs_qqq,
        m.staples,
        m.kre,
        m.hy_60d,
        m.liquidity_91d,
        m.first_cut,
        m.enough[t.min_inputs],
        np.array(t[:7], dtype=np.float64),
        float(t.stress),
        bool(t.data_pivots),
        float(t.liquidity_turn),
    )


@njit(cache=True)
def _measured_events(
    static,
    keep,
    btc_vs_nasdaq,
    btc_30d,
    gold_30d,
    igv_vs_qqq,
    staples,
    kre,
    hy_60d,
    liquidity_91d,
    first_cut,
    enough,
    limits,
    threshold,
    data_pivots,
    turn,
):  # pragma: no cover - compiled
    """Bar by bar: `_stress_conditions` summed, divided by the flags available and compared
    with the threshold (a comparison with NaN is False, as numpy's), and `data_pivot`; then
    (stress_on, pivot_on, pivot_stress, pivot_pivot, stress_static, pivot_static) as
    `frame_events` gives them (`static` sorted), and with `keep` the two series themselves.
    (One kernel for both: a per-bar helper returning the pair costs numba 0.68 ten times
    the arithmetic.)"""
    bars, events = len(enough), len(static)
    stress_on = np.empty(bars, dtype=np.int64)
    pivot_on = np.empty(bars, dtype=np.int64)
    pivot_stress = np.empty(bars, dtype=np.bool_)
    pivot_pivot = np.empty(bars, dtype=np.bool_)
    stress_static = np.empty(events, dtype=np.bool_)
    pivot_static = np.empty(events, dtype=np.bool_)
    stress_all = np.empty(bars if keep else 0)
    pivot_all = np.empty(bars if keep else 0)
    n_stress, n_pivot, e = 0, 0, 0
    stressed_before, pivoted_before = False, False
    for i in range(bars):
        on = 0.0  # whole numbers: the same sum in any order
        on += btc_vs_nasdaq[i] < limits[0]
        on += gold_30d[i] > 0 and btc_30d[i] < limits[1]
        on += igv_vs_qqq[i] < limits[2]
        on += staples[i] > limits[3]
        on += kre[i] < limits[4]
        on += hy_60d[i] > limits[5]
        on += liquidity_91d[i] < limits[6]
        stress = 1.0 if on / enough[i] >= threshold else 0.0
        pivot = 1.0 if data_pivots and (first_cut[i] or liquidity_91d[i] > turn) else 0.0
        if keep:
            stress_all[i], pivot_all[i] = stress, pivot
        while e < events and static[e] == i:
            stress_static[e] = stress == 1.0
            pivot_static[e] = pivot == 1.0
            e += 1
        stressed, pivoted = stress != 0.0, pivot != 0.0  # never NaN here
        if stressed and not stressed_before:
            stress_on[n_stress] = i
            n_stress += 1
        if pivoted and not pivoted_before:
            pivot_on[n_pivot] = i
            pivot_stress[n_pivot] = stress == 1.0
            pivot_pivot[n_pivot] = pivot == 1.0
            n_pivot += 1
        stressed_before, pivoted_before = stressed, pivoted
    return (
        stress_on[:n_stress].copy(),
        pivot_on[:n_pivot].copy(),
        pivot_stress[:n_pivot].copy(),
        pivot_pivot[:n_pivot].copy(),
        stress_static,
        pivot_static,
        stress_all,
        pivot_all,
    )


def frame_events(stress: np.ndarray, pivot: np.ndarray, static: np.ndarray) -> tuple:
    """`_trigger_events` of a frame's trigger columns, in `measured_events`' layout."""
    stress_static = np.empty(len(static), dtype=np.bool_)
    pivot_static = np.empty(len(static), dtype=np.bool_)
    found = _trigger_events(stress, pivot, static, stress_static, pivot_static)
    return (*found, stress_static, pivot_static)


def _basket_table(
    strategy: HayesPivot,
    universe: tuple[str, ...],
    shared: PanelEvents,
    cap: float,
    time: pd.Timestamp,
) -> tuple[np.ndarray, np.ndarray] | None:
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
            weights, _ = _validated(strategy, target, ctx, universe, cap)
        except Exception:  # the walk raises there: let it
            return None
        targets.append(target)
        held.append(weights)
    equal = np.array([[t == w for w in held] for t in targets], dtype=np.bool_)
    rows = np.array([[w.get(s, 0.0) for s in universe] for w in held], dtype=np.float64)
    return equal, rows


def _signal_arrays(found: list[tuple]) -> dict[str, np.ndarray]:
    """Per distinct (stress, pivot) pair, as `frame_events` / `measured_events` give them:
    where each turns on (the walk's flips, NaN off) and whether they equal 1.0 (what
    `on_event` compares) at the static events and at the pivot's flips, stacked."""
    stress_on, pivot_on, pivot_stress, pivot_pivot, stress_static, pivot_static = zip(
        *found, strict=True
    )
    stress_count = np.array([len(b) for b in stress_on], dtype=np.int64)
    pivot_count = np.array([len(b) for b in pivot_on], dtype=np.int64)
    return {
        "stress_static": np.stack(stress_static),
        "pivot_static": np.stack(pivot_static),
        "stress_count": stress_count,
        "pivot_count": pivot_count,
        "stress_ptr": np.r_[0, np.cumsum(stress_count)].astype(np.int64),
        "stress_bar": np.concatenate(stress_on),
        "pivot_ptr": np.r_[0, np.cumsum(pivot_count)].astype(np.int64),
        "pivot_bar": np.concatenate(pivot_on),
        "pivot_stress": np.concatenate(pivot_stress),
        "pivot_pivot": np.concatenate(pivot_pivot),
    }


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    """A trigger's values as floats, for numpy dtypes only (a bool, int or float compares
    with 1.0 as the float does; pd.NA would not), None for anything else."""
    at = frame.columns.get_loc(name)
    if not isinstance(at, int):
        return None  # a duplicated name: the walk reads a frame there
    try:  # the column's array as it is held (a Series per column costs more than its use)
        values = frame._get_column_array(at)
    except AttributeError:
        values = frame.iloc[:, at].array
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
        return None
    return values.astype(np.float64, copy=False)


@njit(cache=True)
def _trigger_events(stress, pivot, static, stress_static, pivot_static):  # pragma: no cover
    """One signal frame's triggers: the bars where each turns on (`_timeline`'s flips:
    unknown counts as off), `== 1.0` at the static events (written into the two rows) and
    at the pivot's flips."""
    for e in range(len(static)):
        stress_static[e] = stress[static[e]] == 1.0
        pivot_static[e] = pivot[static[e]] == 1.0
    stress_on, pivot_on = _turns_on(stress), _turns_on(pivot)
    pivot_stress = np.empty(len(pivot_on), dtype=np.bool_)
    pivot_pivot = np.empty(len(pivot_on), dtype=np.bool_)
    for k in range(len(pivot_on)):
        pivot_stress[k] = stress[pivot_on[k]] == 1.0
        pivot_pivot[k] = pivot[pivot_on[k]] == 1.0
    return stress_on, pivot_on, pivot_stress, pivot_pivot


@njit(cache=True)
def _turns_on(values):  # pragma: no cover - compiled
    """The bars where a trigger flips on (unknown counts as off)."""
    count, before = 0, False
    for i in range(len(values)):
        now = values[i] != 0.0 and not np.isnan(values[i])
        count += now and not before
        before = now
    flips = np.empty(count, dtype=np.int64)
    count, before = 0, False
    for i in range(len(values)):
        now = values[i] != 0.0 and not np.isnan(values[i])
        if now and not before:
            flips[count] = i
            count += 1
        before = now
    return flips


@njit(cache=True)
def _decide(
    key,
    bar,
    kind,
    fed,
    pattern,
    clock,
    day,
    frames,
    hold,
    max_wait,
    kinds,
    pivot_kind,
    baskets,
    base,
    equal,
    stress_static,
    pivot_static,
    stress_ptr,
    stress_bar,
    pivot_ptr,
    pivot_bar,
    pivot_stress,
    pivot_pivot,
    bound,
):  # pragma: no cover - compiled
    """Per set, `on_event` over its events in the walk's order (three sorted streams merged:
    the static events, its stress flips, its pivot flips). A decision is (bar, row of the
    options table: `base[s]` + 0 for cash, + 1 + pattern for the basket where tradable), a
    later one on the same bar replacing the earlier; `weights` is the option held."""
    sets = len(frames)
    events = len(key)
    never = np.iinfo(np.int64).max
    out_bar = np.empty(bound, dtype=np.int64)
    out_row = np.empty(bound, dtype=np.int64)
    offsets = np.zeros(sets + 1, dtype=np.int64)
    n = 0
    for s in range(sets):
        u, b, k, first = frames[s], baskets[s], kinds[s], n
        waiting, since, pivoted, last_pivot, weights = False, 0, False, 0, 0
        e, j, j_end = 0, stress_ptr[u], stress_ptr[u + 1]
        q, q_end = pivot_ptr[u], pivot_ptr[u + 1]
        while True:
            t = 0
            next_static = key[e] if e < events else never
            next_stress = stress_bar[j] * SLOTS + STRESS_ON if j < j_end else never
            next_pivot = pivot_bar[q] * SLOTS + PIVOT_ON if q < q_end else never
            decided = -1  # the option decided at this event, -1: none
            if next_static <= next_stress and next_static <= next_pivot:
                if next_static == never:
                    break
                t, code = bar[e], kind[e]
                if code == START:  # stressed: wait in cash, else the basket
                    waiting = stress_static[u, e]
                    since = clock[t]
                    decided = 0 if waiting else 1 + pattern[t]
                elif code == FED:
                    if pivot_kind[k, fed[e]]:  # other Fed events change nothing
                        pivoted, last_pivot = True, clock[t]  # restarts the hold, ends a wait
                        if waiting:
                            waiting = False
                            decided = 1 + pattern[t]
                elif code == REBALANCE and waiting:  # while_waiting
                    calm = not stress_static[u, e]
                    if pivot_static[u, e] and calm:
                        pivoted, last_pivot = True, clock[t]
                        waiting = False
                        decided = 1 + pattern[t]
                    elif max_wait[s] >= 0 and (clock[t] - since) // day >= max_wait[s] and calm:
                        waiting = False  # waited too long
                        decided = 1 + pattern[t]
                elif not waiting:  # a rebalance or a listing while invested
                    stressed = code == REBALANCE and stress_static[u, e]
                    if stressed and not (pivoted and (clock[t] - last_pivot) // day < hold[s]):
                        waiting, since = True, clock[t]
                        decided = 0
                    elif not equal[b, pattern[t], weights]:  # None when it is what is held
                        decided = 1 + pattern[t]
                e += 1
            elif next_stress <= next_pivot:  # stress turns on: cash, unless holding after a pivot
                t = stress_bar[j]
                if not waiting and not (pivoted and (clock[t] - last_pivot) // day < hold[s]):
                    waiting, since = True, clock[t]
                    decided = 0
                j += 1
            else:
                t = pivot_bar[q]
                if waiting and pivot_pivot[q] and not pivot_stress[q]:  # a data pivot, once calm
                    pivoted, last_pivot = True, clock[t]
                    waiting = False
                    decided = 1 + pattern[t]
                q += 1
            if decided >= 0:
                weights = decided
                if n > first and out_bar[n - 1] == t:
                    out_row[n - 1] = base[s] + decided
                else:
                    out_bar[n], out_row[n] = t, base[s] + decided
                    n += 1
        offsets[s + 1] = n
    return out_bar[:n].copy(), out_row[:n].copy(), offsets

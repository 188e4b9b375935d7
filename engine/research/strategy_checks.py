"""Is a strategy honest on this data? The checks of `playbook check`, each a verdict and a line.

- **no look-ahead**: the data cut after day D (what a user had on D: `TruncatedSource`)
  changes no signal, event or decision on or before D, exactly. The days: across the
  calendar and in each asset's first weeks, where warm-up code most often peeks ahead.
- **repeatable**: the first set, run again in the same process after all the others, decides
  exactly as it did first. A list kept on the class, a cache keyed wrongly or unseeded
  randomness fail it: a sweep's rows would then depend on what ran before them.
- **sweep = run**: the sets decided together as `playbook sweep` decides them (signals shared
  between sets that read the same params, one walk each) equal each set run alone, bar for
  bar and bit for bit.

Each check names the first difference it finds: the day, the column and both values.
`engine.testing` holds a strategy to the same checks as assertions.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.schedule import Schedule, build_schedule, decide_all
from engine.core.signals import MissingInputWarning
from engine.core.strategy import SignalSource, Strategy, fresh, inputs_of, universe_of
from engine.data.sources import Source
from engine.data.truncated import TruncatedSource
from engine.errors import ConfigError, DataError
from engine.runs.backtest import load_panel
from engine.runs.config import RunConfig
from engine.sweep.shared_signals import SignalMemo

CUT_SHARES = (0.2, 0.45, 0.7, 0.9)  # default cut days: these shares of the calendar
FIRST_WEEKS = (7, 30)  # and these many days after each traded asset's first bar


@dataclass(frozen=True)
class Verdict:
    """One check's outcome: `detail` says what was held, or the first difference found."""

    check: str
    passed: bool | None  # None: not judged (another check's failure makes it meaningless)
    detail: str


def schedule_on(strategy: Strategy, panel: Panel, leverage_cap: float = 1.0) -> Schedule:
    """The set's decisions on the panel as `playbook run` makes them (its own signals), from
    a fresh instance with the same params: nothing a walk left on the old one carries over."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        return build_schedule(fresh(strategy), panel, leverage_cap)


def cut_days(panel: Panel, cuts: Sequence[str | pd.Timestamp] | None = None) -> list[pd.Timestamp]:
    """The days to cut the data after: `cuts` when given, else the days at `CUT_SHARES` of the
    calendar from the first traded bar on, and `FIRST_WEEKS` after each traded asset's first
    bar, each moved onto the calendar."""
    index = panel.index
    if cuts is not None:
        given = sorted({pd.Timestamp(c) for c in cuts})
        outside = [d for d in given if not index[0] <= d < index[-1]]
        if outside:
            raise ConfigError(
                f"cut day {outside[0].date()} is not inside the data "
                f"({index[0].date()} to {index[-1].date()}, the last day cuts nothing)",
                "give days inside the data, or no --cut for the default days",
            )
        return given
    firsts = [f for f in map(panel.first_bar, panel.tradable_symbols) if f is not None]
    # the shares of the calendar from the first bar something can be traded (macro history
    # before it decides nothing: a panel cut there has no price to trade)
    traded = index[index >= min(firsts)] if firsts else index
    days = {traded[int(share * (len(traded) - 1))] for share in CUT_SHARES}
    for first in firsts:
        for after in FIRST_WEEKS:
            at = index.searchsorted(first + pd.Timedelta(days=after), side="right") - 1
            if 0 <= at < len(index) - 1:
                days.add(index[at])
    return sorted(days)


def lookahead_problem(
    strategies: Sequence[Strategy],
    config: RunConfig,
    source: Source | Any,
    cuts: Sequence[str | pd.Timestamp] | None = None,
    loaded: dict[tuple, Panel] | None = None,
) -> tuple[str | None, list[pd.Timestamp]]:
    """The first change that cutting the data after a day makes on or before it (None: none),
    and the days cut. Each set is checked at every day; panels are loaded once per day and
    (universe, inputs), the whole data's taken from `loaded` when the caller has them."""
    full_panels: dict[tuple, Panel] = dict(loaded or {})
    cut_panels: dict[tuple, Panel | None] = {}
    days: set[pd.Timestamp] = set()
    for strategy in strategies:
        key = (universe_of(strategy), inputs_of(strategy))
        if key not in full_panels:
            full_panels[key] = load_panel(config, strategy, source)
        full_panel = full_panels[key]
        full = schedule_on(strategy, full_panel, config.leverage_cap)
        for cut in cut_days(full_panel, cuts):
            if (key, cut) not in cut_panels:
                try:
                    cut_panels[(key, cut)] = load_panel(
                        config, strategy, TruncatedSource(source, cut)
                    )
                except DataError:  # no traded asset has a bar yet on that day: nothing to decide
                    cut_panels[(key, cut)] = None
            panel = cut_panels[(key, cut)]
            if panel is None:
                continue
            days.add(cut)
            last = panel.index[-1]
            if last > cut:
                return f"the panel of data cut after {cut.date()} ends {last.date()}", sorted(days)
            seen = schedule_on(strategy, panel, config.leverage_cap)
            where = f"{_name(strategy, strategies)}, data cut after {cut.date()}"
            problem = schedules_differ(seen, full, last, where)
            if problem is not None:
                return problem, sorted(days)
    return None, sorted(days)


WITH_CUT = ("with all the data", "with less")  # how the look-ahead check names both sides


def schedules_differ(
    seen: Schedule,
    full: Schedule,
    last: pd.Timestamp,
    where: str,
    sides: tuple[str, str] = WITH_CUT,
) -> str | None:
    """Where `seen` first differs from `full` on or before `last`: the signals, the
    decisions, then the event log. `sides` name `full`'s values and `seen`'s."""
    for what, mine, theirs in (
        ("signal", seen.signals, full.signals.loc[:last]),
        ("decision", seen.targets, full.targets.loc[:last]),
    ):
        found = first_difference(mine, theirs, sides=sides)
        if found is not None:
            return f"{where}: {what} {found}"
    log = full.log[full.log["time"] <= last]
    found = first_difference(seen.log, log, by="time", sides=sides)
    return None if found is None else f"{where}: event {found}"


def first_difference(
    seen: pd.DataFrame,
    full: pd.DataFrame,
    by: str | None = None,
    sides: tuple[str, str] = WITH_CUT,
) -> str | None:
    """The first row where two frames differ, in words: its label (rows matched by label,
    or by position and named by their `by` column), the column, and `full`'s value against
    `seen`'s (`sides` names them). Missing equals missing; values compare exactly. None when
    they agree."""
    if list(seen.columns) != list(full.columns):
        only_full = [str(c) for c in full.columns if c not in seen.columns]
        only_seen = [str(c) for c in seen.columns if c not in full.columns]
        return (
            f"columns differ: {', '.join(only_full) or 'none'} only {sides[0]}, "
            f"{', '.join(only_seen) or 'none'} only {sides[1]}"
        )
    if by is not None:
        seen, full = seen.reset_index(drop=True), full.reset_index(drop=True)
    index = seen.index.union(full.index)
    in_seen, in_full = index.isin(seen.index), index.isin(full.index)
    mine, theirs = seen.reindex(index), full.reindex(index)
    unequal = {column: ~_same(mine[column], theirs[column]) for column in full.columns}
    differs = np.logical_or.reduce([in_seen != in_full, *unequal.values()])
    if not differs.any():
        return None
    row = int(np.argmax(differs))
    shown = _label(theirs if in_full[row] else mine, row, index[row], by)
    if in_seen[row] != in_full[row]:
        return f"row {shown} exists only {sides[0] if in_full[row] else sides[1]}"
    column = next(column for column, where in unequal.items() if where[row])
    a, b = _value(mine[column].iloc[row]), _value(theirs[column].iloc[row])
    return f"`{column}` on {shown}: {b} {sides[0]}, {a} {sides[1]}"


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Where two aligned columns hold the same value (missing equals missing), exactly."""
    missing = a.isna().to_numpy() & b.isna().to_numpy()
    if _numeric(a) and _numeric(b):
        return (a.to_numpy() == b.to_numpy()) | missing
    left, right = a.to_numpy(dtype=object), b.to_numpy(dtype=object)
    return np.fromiter(map(_equal, left, right), bool, len(left)) | missing


def _numeric(column: pd.Series) -> bool:
    return isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf"


def _equal(x: Any, y: Any) -> bool:
    """x == y as one bool; False where it is not one (pd.NA against a value)."""
    try:
        return bool(x == y)
    except (TypeError, ValueError):
        return False


def _value(value: Any) -> str:
    """A value as a user wrote it: numpy scalars as Python's, text quoted."""
    item = getattr(value, "item", None)
    if callable(item) and getattr(value, "ndim", None) == 0:
        value = item()
    return repr(value) if isinstance(value, str) else str(value)


def _label(frame: pd.DataFrame, row: int, label: Any, by: str | None) -> str:
    """A row's name: its date (its `by` column's, when rows are matched by position)."""
    value = frame[by].iloc[row] if by is not None else label
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    return str(value)


def _name(strategy: Strategy, strategies: Sequence[Strategy]) -> str:
    """The strategy's name, and its params when several sets are checked."""
    return strategy.name if len(strategies) == 1 else f"{strategy.name} ({strategy.p})"


def decisions_problem(
    found: Decisions, walked: Sequence[Schedule], panel: Panel, strategies: Sequence[Strategy]
) -> str | None:
    """The first set whose decisions differ from its own walk (bars, then weights bit for bit),
    in words; None when every set agrees."""
    if found.sets != len(strategies):
        return f"{found.sets} sets decided, not {len(strategies)}"
    for s, (strategy, schedule) in enumerate(zip(strategies, walked, strict=True)):
        where = f"set {s} ({strategy.p})"
        rows = found.rows(s)
        bars = panel.index.get_indexer(schedule.targets.index)
        together = found.bar[rows]
        if not np.array_equal(together, bars):
            first = _first_unequal(together, bars)
            day = panel.index[first].date()
            return f"{where}: decision bars differ, first on {day}"
        want = schedule.targets.reindex(columns=list(found.symbols), fill_value=0.0)
        want_bits = want.to_numpy(dtype=np.float64).view(np.int64)
        got = found.weights[rows]
        unequal = np.flatnonzero((got.view(np.int64) != want_bits).any(axis=1))
        if len(unequal):
            row = int(unequal[0])
            column = int(np.flatnonzero(got[row].view(np.int64) != want_bits[row])[0])
            return (
                f"{where}: weight of {found.symbols[column]} on "
                f"{panel.index[bars[row]].date()}: {_value(got[row, column])} in the sweep, "
                f"{_value(want.iat[row, column])} run alone"
            )
    return None


def _first_unequal(a: np.ndarray, b: np.ndarray) -> int:
    """The first bar in one of two sorted bar arrays and not in the other (or first unequal)."""
    common = min(len(a), len(b))
    unequal = np.flatnonzero(a[:common] != b[:common])
    if len(unequal):
        return int(min(a[unequal[0]], b[unequal[0]]))
    return int(a[common] if len(a) > common else b[common])


def sweep_problem(
    strategies: Sequence[Strategy],
    panel: Panel,
    leverage_cap: float,
    signals: SignalSource | None = None,
) -> str | None:
    """The first set whose decisions made together with the others (as a sweep makes them:
    `decide_all`, shared signals) differ from the set run alone; None when all agree."""
    sets = list(strategies)
    source = signals if signals is not None else SignalMemo(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        together = decide_all(sets, panel, leverage_cap, source)
    alone = [schedule_on(strategy, panel, leverage_cap) for strategy in sets]
    return decisions_problem(together, alone, panel, sets)


def repeat_problem(first: Schedule, again: Schedule, name: str) -> str | None:
    """Where a set's second run in one process first differs from its first; None if never."""
    last = first.signals.index[-1]
    sides = ("the first time", "the second time")
    return schedules_differ(again, first, last, f"{name}, run again", sides)


def check_strategy(
    strategies: Sequence[Strategy],
    config: RunConfig,
    source: Source | Any,
    cuts: Sequence[str | pd.Timestamp] | None = None,
) -> list[Verdict]:
    """The checks of `playbook check` for these sets on the config's data, repeatable first:
    a strategy that decides differently each time makes any other difference chance, so the
    others are then not judged (`passed` None). The sweep check takes the sets that share the
    first set's universe and inputs (one panel), as a sweep groups them."""
    sets = list(strategies)
    cap = config.leverage_cap
    panel = load_panel(config, sets[0], source)
    first = schedule_on(sets[0], panel, cap)
    problem = repeat_problem(first, schedule_on(sets[0], panel, cap), sets[0].name)
    if problem is not None:
        why = "not judged: the strategy decides differently each time it runs"
        return [
            Verdict("repeatable", False, problem),
            Verdict("sweep = run", None, why),
            Verdict("no look-ahead", None, why),
        ]
    key = (universe_of(sets[0]), inputs_of(sets[0]))
    same_panel = [s for s in sets if (universe_of(s), inputs_of(s)) == key]
    swept = sweep_problem(same_panel, panel, cap)
    peeked, days = lookahead_problem(sets, config, source, cuts, loaded={key: panel})
    # after every other set and every cut: state the runs left on the class shows here
    problem = repeat_problem(first, schedule_on(sets[0], panel, cap), sets[0].name)
    shown = ", ".join(str(d.date()) for d in days[:6]) + (", ..." if len(days) > 6 else "")
    return [
        Verdict(
            "repeatable",
            problem is None,
            problem
            or "the first set decides exactly alike run twice, and again after the "
            "other checks' runs",
        ),
        Verdict(
            "sweep = run",
            swept is None,
            swept
            or f"{_sets(same_panel)} decided together as a sweep decides them equal "
            "each set run alone, bit for bit",
        ),
        Verdict(
            "no look-ahead",
            (peeked is None) if days else None,
            peeked
            or f"{_sets(sets)}, data cut after {len(days)} days ({shown}): no signal, "
            "event or decision on or before the cut changed",
        ),
    ]


def _sets(sets: Sequence[Strategy]) -> str:
    return f"{len(sets)} set{'s' if len(sets) != 1 else ''}"

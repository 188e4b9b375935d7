"""The aligned, point-in-time panel every strategy and the simulator read.

One explicit calendar; prices NaN before an asset's first bar (never back-filled) and the
last traded price on days the asset does not trade; macro series visible from their release
date only (with `vintages` as_of or first_release: the values as published, from each
vintage's publication, engine.data.vintages), in FRED's units, and missing once stale (no
release within their frequency's limit, `engine.data.releases`); dated events placed on the
first bar at whose close they are known.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from engine.core.panel import Panel
from engine.data.releases import ReleaseLag, as_released, release_lag
from engine.data.sources import Source
from engine.data.validation import ValidationConfig
from engine.data.vintages import VintageMode, break_notes, latest_values, panel_values
from engine.errors import DataError

CalendarKind = Literal["union", "business", "daily"]

# Plausible median of a macro series in FRED's units: (low, high, units). A median outside
# the range means the file was saved in other units (WALCL in billions instead of millions).
MACRO_UNITS: dict[str, tuple[float, float, str]] = {
    "WALCL": (1.0e5, 2.0e7, "millions of USD"),
    "WTREGEN": (1.0e3, 3.0e6, "millions of USD"),
    "RRPONTSYD": (0.0, 3000.0, "billions of USD"),
    "M2SL": (100.0, 1.0e5, "billions of USD"),
    "WM2NS": (100.0, 1.0e5, "billions of USD"),
    "DTB3": (-1.0, 25.0, "percent"),
    "DFF": (-1.0, 25.0, "percent"),
    "FEDFUNDS": (-1.0, 25.0, "percent"),
    "BAMLH0A0HYM2": (0.0, 30.0, "percent"),
}
# Plausible range of every single observation of the dollar levels a signal adds up, in
# FRED's units. Each value is judged on its own (never by the rest of the file, which would
# let later rows decide how an early row is read): a TGA below 2,500 (USD 2.5 billion, under
# its 2003 low of 3,745 million) can only be a mirror's billions (at most 1,817 billion in 2020).
OBSERVATION_RANGE: dict[str, tuple[float, float]] = {
    "WALCL": (1.0e5, 5.0e7),
    "WTREGEN": (2.5e3, 5.0e6),
    "RRPONTSYD": (0.0, 5.0e3),
}
WEEKEND_SHARE_7DAY = 0.1  # an asset with more weekend bars than this trades 7 days a week


@dataclass(frozen=True)
class PanelRequest:
    """What a run needs loaded: traded symbols decide the calendar, inputs only feed signals."""

    traded: tuple[str, ...]
    inputs: tuple[str, ...] = ()
    macro: tuple[str, ...] = ()
    benchmark: str | None = None
    calendar: CalendarKind = "union"
    end: pd.Timestamp | None = None
    cash_series: tuple[str, ...] = ("DTB3", "DFF")
    cash_rate_pct: float = 0.0
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    vintages: VintageMode = "latest"  # as_of | first_release | latest (engine.data.vintages)


def build_panel(source: Source, request: PanelRequest) -> Panel:
    """Load, align and make point in time everything a run asked for."""
    traded = _unique(request.traded)
    others = _unique([*request.inputs, *([request.benchmark] if request.benchmark else [])])
    others = [s for s in others if s not in traded]
    raw = {symbol: source.prices(symbol)["price"] for symbol in [*traded, *others]}

    # a symbol with no rows yet (data cut before its listing) is untradable, not an error
    listed = {symbol: series for symbol, series in raw.items() if not series.empty}
    calendar_owners = [
        s for s in [*traded, *([request.benchmark] if request.benchmark else [])] if s in listed
    ]
    if not any(s in listed for s in traded):
        raise DataError(
            f"no price data for {', '.join(traded)}",
            "choose another date range or symbols with data in it",
        )
    calendar = _calendar(listed, [s for s in traded if s in listed], request.calendar)
    last_common = min(raw[s].index[-1] for s in _unique(calendar_owners))
    end = last_common if request.end is None else min(pd.Timestamp(request.end), last_common)
    calendar = calendar[calendar <= end]
    if len(calendar) < 2:
        raise DataError(
            f"no overlapping data for {', '.join(_unique(calendar_owners))} up to {end.date()}",
            "choose another date range or symbols with data in it",
        )

    notes = check_prices(listed, traded, calendar[0], end, request.validation)
    prices, traded_mask = {}, {}
    for symbol, series in raw.items():
        if series.empty:
            prices[symbol] = pd.Series(np.nan, index=calendar, dtype="float64")
            traded_mask[symbol] = pd.Series(False, index=calendar)
            notes.append(f"{symbol} has no data up to {end.date()}; it is untradable there")
            continue
        on_calendar = series.reindex(calendar.union(series.index)).ffill().reindex(calendar)
        on_calendar[calendar < series.index[0]] = np.nan
        prices[symbol] = on_calendar
        traded_mask[symbol] = pd.Series(calendar.isin(series.index), index=calendar)
        if series.index[-1] < end:
            notes.append(
                f"{symbol} data ends {series.index[-1].date()}; its last price is carried "
                f"to {end.date()}"
            )

    macro = {}
    no_vintages: list[str] = []
    for series_id in _unique(request.macro):
        series = source.macro(series_id)
        table = _vintages(source, series_id, request.vintages)
        if series is None and table is None:
            notes.append(f"macro series {series_id} is not in this source; signals skip it")
            continue
        lag = release_lag(series_id)
        if table is not None:
            series = latest_values(table)
            check_units(series_id, table.set_index("date")["value"])
            read = panel_values(table, series_id, request.vintages, lag)
            released, first_seen = read.values, read.releases
            notes += read.notes
        else:
            assert series is not None  # no table and no series: skipped above
            if request.vintages != "latest":
                no_vintages.append(series_id)
            check_units(series_id, series)
            released = first_seen = as_released(series, lag)
        fresh = _fresh(first_seen, calendar, lag.stale_after_days)
        macro[series_id] = _as_of(released, calendar).where(fresh)
        notes += _stale_macro_notes(series_id, series, first_seen, fresh, lag)
        notes += break_notes(series_id, calendar[0], calendar[-1])
    notes += _vintage_mode_notes(source, request, list(macro), no_vintages)

    return Panel(
        prices=pd.DataFrame(prices, index=calendar),
        traded=pd.DataFrame(traded_mask, index=calendar),
        macro=pd.DataFrame(macro, index=calendar, dtype="float64"),
        cash_rate=_cash_rate(source, request, calendar, notes),
        events=_place_events(source.events(), calendar),
        tradable_symbols=tuple(traded),
        calendar_kind=request.calendar,
        synthetic=source.synthetic,
        source=source.describe(),
        notes=tuple(notes),
        regimes=tuple(source.regimes()),
    )


def check_units(series_id: str, series: pd.Series) -> None:
    """Refuse a macro series whose size contradicts its known units.

    Signals read every series in FRED's units (MACRO_UNITS) and never guess them. The median
    catches a file in other units; OBSERVATION_RANGE then checks each value on its own, so a
    mirror that switched units part way, or a short file, cannot slip through.
    """
    known = MACRO_UNITS.get(series_id)
    values = pd.to_numeric(series, errors="coerce").dropna()
    if known is None or values.empty:
        return
    low, high, units = known
    median = float(values.median())
    if not low <= median <= high:
        raise DataError(
            f"macro series {series_id} looks like the wrong units: its median is {median:,.6g}, "
            f"expected {units} (a median between {low:,g} and {high:,g})",
            f"give {series_id} in {units}, FRED's units",
        )
    bounds = OBSERVATION_RANGE.get(series_id)
    if bounds is None:
        return
    outside = (values < bounds[0]) | (values > bounds[1])
    if outside.any():
        day, value = values.index[outside.to_numpy()][0], float(values[outside].iloc[0])
        raise DataError(
            f"macro series {series_id} looks like the wrong units: {value:,.6g} on "
            f"{pd.Timestamp(day).date()} is outside {bounds[0]:,.10g} to {bounds[1]:,.10g} {units}",
            f"give every row of {series_id} in {units}, FRED's units",
        )


def check_prices(
    raw: dict[str, pd.Series],
    traded: Sequence[str],
    first: pd.Timestamp,
    last: pd.Timestamp,
    rules: ValidationConfig,
) -> list[str]:
    """Gaps, jumps and stale prices between `first` and `last`, as notes (or one DataError).

    Gaps are checked for traded assets (days an exchange should have printed a bar: weekdays,
    or every day for an asset that trades 7 days a week); jumps and stale runs for every
    loaded series. One note per asset and kind, naming the worst case and how many there were.
    """
    notes: list[str] = []
    for symbol, series in raw.items():
        seven_day = _trades_weekends(series.index)
        window = series[(series.index >= first) & (series.index <= last)].dropna()
        if len(window) < 2:
            continue
        days = window.index
        if symbol in traded:
            notes += _gap_notes(symbol, days, seven_day, rules.max_gap_bars)
        limit = rules.jump_limit(symbol, seven_day)
        moves = np.diff(np.log(window.to_numpy(dtype="float64")))
        _refuse_absurd_jumps(symbol, days, moves, rules.max_jump_absurd)
        notes += _jump_notes(symbol, days, moves, limit)
        notes += _stale_notes(symbol, days, window.to_numpy(), rules.max_stale_bars)
    if notes and rules.on_issue == "error":
        more = f" (+{len(notes) - 1} more)" if len(notes) > 1 else ""
        raise DataError(
            notes[0].removeprefix("data check: ") + more,
            "fix the data, raise the limits under data.validation, or set "
            "data.validation.on_issue: warn",
        )
    return notes


def _trades_weekends(index: pd.DatetimeIndex) -> bool:
    return len(index) > 0 and float((index.day_of_week >= 5).mean()) > WEEKEND_SHARE_7DAY


def _gap_notes(symbol: str, days: pd.DatetimeIndex, seven_day: bool, limit: int) -> list[str]:
    stamps = days.to_numpy().astype("datetime64[D]")
    if seven_day:
        missing = np.diff(stamps).astype("int64") - 1
        unit = "days"
    else:
        missing = np.busday_count(stamps[:-1] + np.timedelta64(1, "D"), stamps[1:])
        unit = "weekdays"
    over = np.flatnonzero(missing > limit)
    if not len(over):
        return []
    worst = over[np.argmax(missing[over])]
    count = f"{len(over)} gaps" if len(over) > 1 else "a gap"
    return [
        f"data check: {symbol} has {count} of more than {limit} {unit} with no bar; the longest, "
        f"{int(missing[worst])} {unit}, after {days[worst].date()} (its last price is carried)"
    ]


def _refuse_absurd_jumps(
    symbol: str, days: pd.DatetimeIndex, log_moves: np.ndarray, bound: float
) -> None:
    """A DataError for a move beyond `bound` (data.validation.max_jump_absurd), never a note.

    A 1,000x price between two bars is a bad print or a file in other units; a note would
    let the run go on and report its returns, so this holds whatever `on_issue` says.
    """
    over = np.flatnonzero(np.abs(log_moves) > bound)
    if len(over):
        at = int(over[0])
        ratio = float(np.exp(log_moves[at]))
        raise DataError(
            f"{symbol} moves {ratio:.4g}x in one bar on {days[at + 1].date()}, beyond "
            f"|log return| {bound:.4g} (a bad print or a price in other units)",
            "fix the data; data.validation.max_jump_absurd sets the bound",
        )


def _jump_notes(symbol: str, days: pd.DatetimeIndex, moves: np.ndarray, limit: float) -> list[str]:
    over = np.flatnonzero(np.abs(moves) > limit)
    if not len(over):
        return []
    worst = over[np.argmax(np.abs(moves[over]))]
    count = f"{len(over)} moves" if len(over) > 1 else "a move"
    change = float(np.expm1(moves[worst]))
    return [
        f"data check: {symbol} has {count} beyond |log return| {limit:g} between bars; the "
        f"largest {change:+.0%} on {days[worst + 1].date()} (a bad print or an unadjusted "
        "split?)"
    ]


def _stale_notes(symbol: str, days: pd.DatetimeIndex, values: np.ndarray, limit: int) -> list[str]:
    same = np.concatenate([[False], values[1:] == values[:-1]])
    starts = np.flatnonzero(same & ~np.concatenate([[False], same[:-1]]))  # runs of repeats
    if not len(starts):
        return []
    ends = np.flatnonzero(same & ~np.concatenate([same[1:], [False]]))
    bars = ends - starts + 2  # bars with the same price: the run's first bar and its repeats
    over = np.flatnonzero(bars > limit)
    if not len(over):
        return []
    worst = over[np.argmax(bars[over])]
    count = f"{len(over)} runs" if len(over) > 1 else "a run"
    return [
        f"data check: {symbol} has {count} of more than {limit} bars at an unchanged price; the "
        f"longest, {int(bars[worst])} bars, from {days[starts[worst] - 1].date()} (a stale feed?)"
    ]


def _calendar(raw: dict[str, pd.Series], traded: Sequence[str], kind: str) -> pd.DatetimeIndex:
    """Bars of the run: the traded assets' days, plus earlier days of signal inputs (warm-up).

    Input-only days never enter after the first traded bar, so a BTC signal does not give an
    equity portfolio weekend bars.
    """
    first_traded = min(raw[s].index[0] for s in traded)
    first = min(series.index[0] for series in raw.values())
    last = max(raw[s].index[-1] for s in traded)
    if kind == "union":
        days = pd.DatetimeIndex([])
        for symbol in traded:
            days = days.union(raw[symbol].index)
        for series in raw.values():
            days = days.union(series.index[series.index < first_traded])
        index = pd.DatetimeIndex(days)
    elif kind == "business":
        index = pd.bdate_range(first, last)
    elif kind == "daily":
        index = pd.date_range(first, last, freq="D")
    else:  # pragma: no cover - the config model rejects other values
        raise DataError(f"unknown calendar {kind!r}", "use union, business or daily")
    return pd.DatetimeIndex(index[(index >= first) & (index <= last)], name="date")


def _as_of(released: pd.Series, calendar: pd.DatetimeIndex) -> pd.Series:
    """Value known at each bar's close: the last release on or before the bar."""
    full = released.reindex(calendar.union(released.index)).ffill()
    return full.reindex(calendar).astype("float64")


def _fresh(released: pd.Series, calendar: pd.DatetimeIndex, stale_after_days: int) -> pd.Series:
    """True on bars whose latest known release is at most `stale_after_days` old."""
    dates = pd.Series(released.index, index=released.index)
    latest = dates.reindex(calendar.union(released.index)).ffill().reindex(calendar)
    age = calendar - pd.DatetimeIndex(latest)
    return pd.Series(age <= pd.Timedelta(days=stale_after_days), index=calendar)


def _vintages(source: Source, series_id: str, mode: VintageMode) -> pd.DataFrame | None:
    """The source's vintage table of a series when the mode reads vintages, else None."""
    if mode == "latest":
        return None
    reader = getattr(source, "vintages", None)
    return None if reader is None else reader(series_id)


def _vintage_mode_notes(
    source: Source, request: PanelRequest, loaded: list[str], no_vintages: list[str]
) -> list[str]:
    """Say which data a run on real macro series decided with (one note per case)."""
    if not loaded or source.synthetic:
        return []
    if request.vintages == "latest":
        return [
            f"data.vintages is latest: macro series {', '.join(loaded)} are today's revised "
            "values placed on their release-lag dates, not what was published then (as_of "
            "reads macro/vintages/<ID>.csv)"
        ]
    if no_vintages:
        return [
            f"data.vintages is {request.vintages} but {', '.join(no_vintages)} "
            f"{'has' if len(no_vintages) == 1 else 'have'} no vintages in this source: "
            "today's revised values on their release-lag dates there"
        ]
    return []


def _stale_macro_notes(
    series_id: str,
    series: pd.Series,
    released: pd.Series,
    fresh: pd.Series,
    lag: ReleaseLag,
) -> list[str]:
    """One note per macro series that went stale on the calendar (after its first release)."""
    stale = ~fresh & (fresh.index >= released.index[0])
    if not stale.any():
        return []
    limit = f"{lag.stale_after_days} days ({lag.frequency} series)"
    parts = []
    tail = stale.iloc[::-1].cummin().iloc[::-1]  # the stale run that lasts to the last bar
    if bool(tail.iloc[-1]):
        days = fresh.index[tail.to_numpy()]
        parts.append(
            f"macro series {series_id} data ends {series.index[-1].date()} (released "
            f"{released.index[-1].date()}); with no release for over {limit} it counts as "
            f"missing from {days[0].date()} to {days[-1].date()} ({len(days)} bars), not carried"
        )
    gaps = stale & ~tail
    if gaps.any():
        days = fresh.index[gaps.to_numpy()]
        if parts:
            parts.append(f"also on {len(days)} earlier bars, first on {days[0].date()}")
        else:
            parts.append(
                f"macro series {series_id} had no release for over {limit} on {len(days)} "
                f"bars, first on {days[0].date()}; it counts as missing there, not carried"
            )
    return ["; ".join(parts)]


def _cash_rate(
    source: Source, request: PanelRequest, calendar: pd.DatetimeIndex, notes: list[str]
) -> pd.Series:
    """Annual cash yield per bar: the observed bill rate (prevailing, so no release lag).

    Series are tried in order per bar (DTB3, then DFF); the constant covers what none has.
    """
    rate = pd.Series(np.nan, index=calendar, dtype="float64")
    for series_id in request.cash_series:
        series = source.macro(series_id)
        if series is None:
            notes.append(f"cash yield series {series_id} is not in this source")
            continue
        check_units(series_id, series)
        rate = rate.fillna(_as_of(series / 100.0, calendar))
    uncovered = int(rate.isna().sum())
    if uncovered:
        notes.append(
            f"{uncovered} bars have no cash-rate observation: idle cash earns "
            f"{request.cash_rate_pct}% a year there"
        )
    rate = rate.fillna(request.cash_rate_pct / 100.0)
    rate.name = "cash_rate"
    return rate


def _place_events(events: pd.DataFrame, calendar: pd.DatetimeIndex) -> pd.DataFrame:
    """Each event acts at the first bar on or after its date (Sunday news -> next session)."""
    events = events.sort_values("date", kind="stable")
    positions = calendar.searchsorted(pd.DatetimeIndex(events["date"]), side="left")
    inside = positions < len(calendar)
    placed = events.loc[inside].copy()
    placed.insert(0, "bar", calendar[positions[inside]])
    placed = placed[placed["date"] >= calendar[0]]
    return placed.reset_index(drop=True)


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))

"""Macro series as they were published: every vintage, and the value a bar could have known.

A vintage table (ALFRED's real-time periods) has one row per (reference date, vintage):
`date, realtime_start, realtime_end, value`. `realtime_start` is the day that value was
published; it held until `realtime_end` (9999-12-31 while current). In a `--data-dir` the table
is `macro/vintages/<ID>.csv`.

`panel_values` turns a table into the panel's column (the value known at each bar's close for
the latest reference date). A vintage counts from `releases.vintage_visible_from` (the day's
close for a release before 16:00 ET, else the next business day). Modes:

- `as_of`: for each reference date the latest vintage visible by the bar (revisions count
  once they are published);
- `first_release`: for each reference date its first published value, never revised;
- `latest`: today's values on release-lag dates (no vintages; what playbook did before).

Bars before the archive's first vintage read that vintage's values on their release-lag dates
(ALFRED starts late for many series), and the run notes say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from engine.data.csvio import numbers
from engine.data.releases import ReleaseLag, as_released, vintage_visible_from
from engine.errors import DataError
from engine.io.names import name_path

VintageMode = Literal["as_of", "first_release", "latest"]
VINTAGE_MODES: tuple[VintageMode, ...] = ("as_of", "first_release", "latest")
COLUMNS = ("date", "realtime_start", "realtime_end", "value")
OPEN_END_TEXT = "9999-12-31"  # ALFRED's realtime_end of a value still current
OPEN_END = pd.Timestamp("2261-12-31")  # the same in memory (pandas dates end in 2262)


@dataclass(frozen=True)
class DefinitionBreak:
    """A date from which a series measures something else: levels across it do not compare."""

    date: pd.Timestamp
    what: str


# Known breaks per FRED id (small and curated; a change across a break is not growth).
DEFINITION_BREAKS: dict[str, tuple[DefinitionBreak, ...]] = {
    "M1SL": (
        DefinitionBreak(
            pd.Timestamp("2020-05-01"),
            "savings deposits moved into M1 after Regulation D (H.6, Feb 2021): M1 roughly tripled",
        ),
    ),
    "M1NS": (
        DefinitionBreak(pd.Timestamp("2020-05-01"), "savings deposits moved into M1 (Reg D)"),
    ),
    "WM1NS": (
        DefinitionBreak(pd.Timestamp("2020-05-04"), "savings deposits moved into M1 (Reg D)"),
    ),
    "UNRATE": (
        DefinitionBreak(pd.Timestamp("1994-01-01"), "CPS redesign (new questionnaire, CATI)"),
    ),
    "CPIAUCSL": (
        DefinitionBreak(
            pd.Timestamp("1983-01-01"), "owners' equivalent rent replaced home prices in CPI-U"
        ),
    ),
}


def vintage_path(root: Path, series_id: str) -> Path:
    """`root/macro/vintages/<ID>.csv` (the id must be a plain name, engine.io.names)."""
    return name_path(Path(root) / "macro", "vintages", series_id, ".csv", "FRED id", DataError)


def read_vintage_csv(path: Path, series_id: str) -> pd.DataFrame:
    """A vintage table from `date,realtime_start,realtime_end,value`; bad files fail loudly."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: unreadable vintage file ({exc})", _layout_fix()) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: no {', '.join(missing)} column for {series_id}", _layout_fix())
    table = pd.DataFrame(
        {
            "date": _dates(frame["date"], path, "date"),
            "realtime_start": _dates(frame["realtime_start"], path, "realtime_start"),
            "realtime_end": _dates(frame["realtime_end"], path, "realtime_end"),
            "value": numbers(frame, "value", path, frozenset({"", ".", "nan", "na"})).to_numpy(),
        }
    )
    return check_vintages(table.dropna(subset=["value"]), series_id, str(path))


def check_vintages(table: pd.DataFrame, series_id: str, where: str) -> pd.DataFrame:
    """Sorted by (date, realtime_start); each date's periods ordered and not overlapping."""
    if table.empty:
        raise DataError(f"{where}: no vintages for {series_id}", "check the file is not empty")
    table = table.sort_values(["date", "realtime_start"], kind="stable").reset_index(drop=True)
    if (table["realtime_end"] < table["realtime_start"]).any():
        row = table[table["realtime_end"] < table["realtime_start"]].iloc[0]
        raise DataError(
            f"{where}: {series_id} {row['date'].date()} has realtime_end before realtime_start",
            _layout_fix(),
        )
    same = table["date"].eq(table["date"].shift())
    overlap = same & (table["realtime_start"] <= table["realtime_end"].shift())
    if overlap.any():
        row = table[overlap].iloc[0]
        raise DataError(
            f"{where}: {series_id} {row['date'].date()} has two vintages in force on "
            f"{row['realtime_start'].date()}",
            "each reference date's real-time periods must not overlap",
        )
    return table


def normalize_vintages(table: pd.DataFrame) -> pd.DataFrame:
    """Collapse repeats (a value unchanged from one vintage to the next) into one period.

    Each row then holds from its `realtime_start` to the day before the date's next change
    (9999-12-31 for the current value): the canonical table, whatever batches it came in.
    """
    table = table.dropna(subset=["value"]).sort_values(["date", "realtime_start"], kind="stable")
    table = table.drop_duplicates(["date", "realtime_start"], keep="last")
    new_date = table["date"].ne(table["date"].shift())
    changed = new_date | table["value"].ne(table["value"].shift())
    kept = table[changed].reset_index(drop=True)
    following = kept["realtime_start"].shift(-1) - pd.Timedelta(days=1)
    last_of_date = kept["date"].ne(kept["date"].shift(-1))
    kept["realtime_end"] = following.where(~last_of_date, OPEN_END)
    return kept[list(COLUMNS)]


def latest_values(table: pd.DataFrame) -> pd.Series:
    """Today's series: each reference date's current value (what `macro/<ID>.csv` holds)."""
    last = table.sort_values(["date", "realtime_start"]).groupby("date").tail(1)
    return pd.Series(last["value"].to_numpy(), index=pd.DatetimeIndex(last["date"]), name="value")


def known_at(
    table: pd.DataFrame, series_id: str, bar: pd.Timestamp, mode: VintageMode
) -> pd.Series:
    """The whole series as a signal could know it at `bar`'s close, by reference date.

    as_of: each date's latest vintage visible by then; first_release: each date's first.
    """
    visible = table[vintage_visible_from(series_id, table["realtime_start"]) <= bar]
    ordered = visible.sort_values(["date", "realtime_start"])
    rows = (
        ordered.groupby("date").head(1)
        if mode == "first_release"
        else ordered.groupby("date").tail(1)
    )
    return pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["date"]))


@dataclass(frozen=True)
class PanelValues:
    """What the panel needs of a series read from vintages."""

    values: pd.Series  # value of the latest reference date, indexed by the day it is usable
    releases: pd.Series  # each reference date's first usable day (for staleness), by that day
    notes: tuple[str, ...]


def panel_values(
    table: pd.DataFrame, series_id: str, mode: VintageMode, lag: ReleaseLag
) -> PanelValues:
    """The latest reference date's value as known after each vintage, with the days it counts.

    Walks the vintages in the order they became usable; after each day the known series is
    updated (as_of: every published value; first_release: only dates not seen before) and the
    value of its latest reference date recorded.
    """
    visible = vintage_visible_from(series_id, pd.DatetimeIndex(table["realtime_start"]))
    rows = table.assign(visible=visible.to_numpy()).sort_values(
        ["visible", "realtime_start", "date"], kind="stable"
    )
    known: dict[pd.Timestamp, float] = {}
    first_seen: dict[pd.Timestamp, pd.Timestamp] = {}
    days, values = [], []
    for day, group in rows.groupby("visible", sort=True):
        for date, value in zip(group["date"], group["value"], strict=True):
            if mode == "first_release" and date in known:
                continue
            known[date] = float(value)
            first_seen.setdefault(date, pd.Timestamp(day))
        days.append(pd.Timestamp(day))
        values.append(known[max(known)])
    value_series = pd.Series(values, index=pd.DatetimeIndex(days), dtype="float64")
    releases = pd.Series(list(first_seen.values()), index=list(first_seen.values()))
    releases = releases[~releases.index.duplicated()].sort_index()

    start = value_series.index[0]
    first_vintage = rows[rows["visible"] == start]
    before = as_released(
        pd.Series(
            first_vintage["value"].to_numpy(dtype="float64"),
            index=pd.DatetimeIndex(first_vintage["date"]),
        ).sort_index(),
        lag,
    )
    before = before[before.index < start]
    notes: tuple[str, ...] = ()
    if len(before):
        notes = (
            f"macro series {series_id}: its vintages start {start.date()}; before that the run "
            "reads the first vintage's values on their release-lag dates",
        )
        value_series = pd.concat([before, value_series])
        releases = pd.concat([pd.Series(before.index, index=before.index), releases])
    return PanelValues(value_series, releases.sort_index(), notes)


def break_notes(series_id: str, first: pd.Timestamp, last: pd.Timestamp) -> list[str]:
    """One note per known definition break of `series_id` inside [first, last]."""
    return [
        f"macro series {series_id} has a definition break at {b.date.date()} ({b.what}): "
        "levels before and after do not compare; a change across it is not growth"
        for b in DEFINITION_BREAKS.get(series_id, ())
        if first <= b.date <= last
    ]


def vintage_csv_text(table: pd.DataFrame) -> str:
    """The table as `macro/vintages/<ID>.csv` text (open periods end 9999-12-31, as ALFRED's)."""
    out = pd.DataFrame({c: table[c].dt.strftime("%Y-%m-%d") for c in COLUMNS[:3]})
    out.loc[table["realtime_end"].to_numpy() >= OPEN_END, "realtime_end"] = OPEN_END_TEXT
    out["value"] = [repr(float(v)) for v in table["value"]]
    return str(out.to_csv(index=False, lineterminator="\n"))


def _dates(column: pd.Series, path: Path, name: str) -> np.ndarray:
    text = column.astype(str).str.strip()
    text = text.where(~text.str.startswith("9999-"), str(OPEN_END.date()))
    parsed = pd.to_datetime(text, errors="coerce", format="%Y-%m-%d")
    if parsed.isna().any():
        shown = column[parsed.isna()].iloc[0]
        raise DataError(f"{path}: {name} {shown!r} is not a YYYY-MM-DD date", _layout_fix())
    return parsed.dt.normalize().to_numpy()


def _layout_fix() -> str:
    return "use the layout date,realtime_start,realtime_end,value (ALFRED's real-time periods)"

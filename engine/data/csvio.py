"""Read the directory layout's CSV files strictly: bad files fail loudly, never silently.

`prices/<SYMBOL>.csv` has `date,open,high,low,close,adj_close,volume`; `macro/<ID>.csv` has
`date,value`. A returned price frame has a sorted, unique, tz-naive DatetimeIndex and a
positive `price` column (adj_close where present, else close).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.io.names import shown

FIRST_DATE, LAST_DATE = pd.Timestamp("1800-01-01"), pd.Timestamp("2199-12-31")  # sane dates
# A number as written by Yahoo, FRED or pandas: '.' decimal point, no thousands separators
# or currency signs, optional exponent; inf is a number (refused later as not finite).
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|infinity)"
MISSING = frozenset({"", "null", "nan", "na", "n/a"})  # cells that say "no value" (any case)
NUMBER_FIX = "write numbers with '.' as the decimal point and no thousands separators"


def read_price_csv(path: Path, symbol: str) -> pd.DataFrame:
    """Total-return prices of one symbol, indexed by date; rows with no price are dropped."""
    frame = _read_csv(path, required=("date",))
    price_col = _first_present(frame, ("adj_close", "close"))
    if price_col is None and ({"adj_close", "close"} & set(frame.columns)):
        raise DataError(f"{path}: no price rows for {symbol}", "check the file is not empty")
    if price_col is None:
        raise DataError(
            f"{path}: no 'adj_close' or 'close' column for {symbol}",
            "use the layout date,open,high,low,close,adj_close,volume",
        )
    price = numbers(frame, price_col, path)
    if "close" in frame and price_col == "adj_close":
        price = price.fillna(numbers(frame, "close", path))
    out = pd.DataFrame({"price": price.to_numpy()}, index=_parse_dates(frame, path))
    out = out.dropna()
    if out.empty:
        raise DataError(f"{path}: no price rows for {symbol}", "check the file is not empty")
    infinite = ~np.isfinite(out["price"].to_numpy())
    if infinite.any():
        raise DataError(
            f"{path}: infinite price for {symbol} on {out.index[infinite][0].date()}",
            "fix or remove that row; prices must be finite numbers",
        )
    if (out["price"] <= 0).any():
        bad = out.index[out["price"] <= 0][0].date()
        raise DataError(
            f"{path}: non-positive price for {symbol} on {bad}",
            "fix or remove that row; prices must be > 0",
        )
    return out


def read_macro_csv(path: Path, series_id: str) -> pd.Series:
    """A macro series indexed by its observation (reference) date; missing values dropped."""
    frame = _read_csv(path, required=("date", "value"))
    values = numbers(frame, "value", path, MISSING | {"."})  # "." is FRED's missing value
    series = pd.Series(values.to_numpy(), index=_parse_dates(frame, path), name=series_id)
    series = series.dropna()
    if series.empty:
        raise DataError(f"{path}: no values for {series_id}", "check the file is not empty")
    infinite = ~np.isfinite(series.to_numpy())
    if infinite.any():
        raise DataError(
            f"{path}: infinite value for {series_id} on {series.index[infinite][0].date()}",
            "fix or remove that row; values must be finite numbers",
        )
    return series


def numbers(
    frame: pd.DataFrame, column: str, path: Path, missing: frozenset[str] = MISSING
) -> pd.Series:
    """A column as floats; a cell that is neither a number nor a missing marker is refused.

    `pd.to_numeric(errors="coerce")` would turn "1,5", "1.234,5" or "12.5x" into a gap, so a
    wrong file would be read as a shorter right one: the first such cell is named instead.
    """
    raw = frame[column].fillna("").astype(str).str.strip()
    absent = raw.str.lower().isin(missing)
    bad = ~absent & ~raw.str.fullmatch(NUMBER, case=False)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        value = shown(raw.iloc[row])
        raise DataError(
            f"{path}:{_line_of(path, row)}: {column} {value} is not a number", NUMBER_FIX
        )
    return pd.to_numeric(raw.where(~absent), errors="coerce")


def _line_of(path: Path, row: int) -> str:
    """The file line of data row `row` (pandas skips blank lines), or '?' if unclear."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return "?"
    filled = [number for number, line in enumerate(lines, 1) if line.strip()]
    return str(filled[row + 1]) if row + 1 < len(filled) else "?"


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{path}: not a readable CSV ({reason})", "re-export the file") from exc
    if not isinstance(frame.index, pd.RangeIndex):  # pandas made the extra first field an index
        raise DataError(
            f"{path}:{_line_of(path, 0)}: more fields than the header has (a comma used as the "
            "decimal point?)",
            NUMBER_FIX,
        )
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(frame.columns)}",
            "use the layout described in the README (Data)",
        )
    return frame


def _parse_dates(frame: pd.DataFrame, path: Path) -> pd.DatetimeIndex:
    raw = frame["date"].fillna("").astype(str).str.strip()
    try:
        parsed = pd.to_datetime(raw, errors="coerce", format="ISO8601", utc=False)
    except (ValueError, TypeError) as exc:  # e.g. mixed time-zone offsets
        raise DataError(
            f"{path}: dates mix time zones or formats", "use plain ISO dates like 2020-03-23"
        ) from exc
    if parsed.isna().any():
        bad = raw[parsed.isna()].iloc[0]
        raise DataError(f"{path}: unreadable date {bad!r}", "use ISO dates like 2020-03-23")
    index = pd.DatetimeIndex(parsed)
    if index.tz is not None:
        index = index.tz_convert(None)
    index = index.normalize()
    index.name = "date"
    outside = (index < FIRST_DATE) | (index > LAST_DATE)
    if outside.any():
        bad = raw[outside].iloc[0]
        raise DataError(
            f"{path}: date {bad!r} is outside {FIRST_DATE.year}-{LAST_DATE.year}",
            "use ISO dates like 2020-03-23",
        )
    if index.has_duplicates:
        dup = index[index.duplicated()][0].date()
        raise DataError(f"{path}: duplicate date {dup}", "keep one row per date")
    if not index.is_monotonic_increasing:
        raise DataError(f"{path}: dates are not in ascending order", "sort the file by date")
    return index


def _first_present(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in frame.columns and frame[name].notna().any():
            return name
    return None

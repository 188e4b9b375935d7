"""Where prices, macro series and dated events come from, behind one small interface.

A source answers three questions: the total-return prices of a symbol, a macro series by its
FRED id (reference-dated; the panel applies release lags), and the dated events (Fed
announcements, crises) that belong to its world. A source may also offer `vintages(ID)`: every
published vintage of a macro series (engine.data.vintages); the panel asks with getattr.
Real sources share the embedded Fed calendar; the synthetic source brings its own scenario's
calendar.
"""

from __future__ import annotations

from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from engine.core.regimes import Regime, embedded_regimes
from engine.data.csvio import read_macro_csv, read_price_csv
from engine.errors import DataError
from engine.io.names import check_name, name_path
from engine.io.yaml_models import did_you_mean

if TYPE_CHECKING:
    pass


class Source(Protocol):
    """What the panel builder needs from any data source."""

    kind: str
    synthetic: bool

    def prices(self, symbol: str) -> pd.DataFrame:
        """Frame with a positive `price` column (total return), date-indexed, ascending."""
        ...

    def macro(self, series_id: str) -> pd.Series | None:
        """Reference-dated series, or None when the source does not have it."""
        ...

    def events(self) -> pd.DataFrame:
        """Columns date, kind, description."""
        ...

    def describe(self) -> dict[str, str]:
        """What identifies this source in a run's fingerprint."""
        ...

    def regimes(self) -> tuple[Regime, ...]:
        """The named regimes of this source's world (the real catalog, or scenario phases)."""
        ...


def symbol_filename(symbol: str) -> str:
    """Yahoo symbol -> file stem in the directory layout (^GSPC -> _GSPC, GC=F -> GC_F)."""
    return symbol.replace("^", "_").replace("=", "_")


ACTS_NEXT_DAY = ("after_close", "sunday")  # announcement times no close that day can act on


def price_path(root: Path, symbol: str) -> Path:
    """`root/prices/<SYMBOL>.csv`; a symbol that is not a plain name is refused
    (engine.io.names)."""
    check_name(symbol, "symbol")
    return name_path(root, "prices", symbol_filename(symbol), ".csv", "symbol")


def embedded_fed_events() -> pd.DataFrame:
    """The dated Fed/crisis calendar shipped with playbook (from shared/reference).

    `date` is the first day whose close can act on the event (the panel places it on the
    first bar on or after it): the announcement day for a statement in the session or one
    "before the open", the next day for one "after_close" or on a Sunday (a weekend bar of
    a crypto calendar must not act on Sunday-evening news). `announced`, `time` and `source`
    keep the row as published.
    """
    with resources.files("engine.reference").joinpath("fed_events.csv").open() as handle:
        frame = pd.read_csv(handle, dtype=str)
    announced = pd.to_datetime(frame["date"])
    later = frame["time"].isin(ACTS_NEXT_DAY).to_numpy()
    frame["date"] = announced + pd.to_timedelta(later.astype("int64"), unit="D")
    frame["announced"] = announced
    return frame[["date", "kind", "description", "announced", "time", "source"]]


class DirectorySource:
    """Reads `prices/<SYMBOL>.csv` and `macro/<ID>.csv` under one directory."""

    kind = "directory"
    synthetic = False

    def __init__(self, root: Path) -> None:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataError(
                f"data directory {root} does not exist",
                "pass --data-dir with a folder holding prices/ and macro/ (../shared/data)",
            )
        if not (root / "prices").is_dir():
            raise DataError(
                f"data directory {root} has no prices/ folder",
                "point --data-dir at the folder that holds prices/ and macro/",
            )
        self.root = root.resolve()

    def prices(self, symbol: str) -> pd.DataFrame:
        path = price_path(self.root, symbol)
        if not path.is_file():
            raise DataError(
                f"unknown symbol {symbol!r}: no {path}",
                did_you_mean_symbol(symbol, self.available_symbols)
                or "add the CSV or fix the symbol",
            )
        return read_price_csv(path, symbol)

    def macro(self, series_id: str) -> pd.Series | None:
        path = name_path(self.root, "macro", series_id, ".csv", "FRED id")
        return read_macro_csv(path, series_id) if path.is_file() else None

    def vintages(self, series_id: str) -> pd.DataFrame | None:
        """`macro/vintages/<ID>.csv` (engine.data.vintages), or None when there is none."""
        from engine.data.vintages import read_vintage_csv, vintage_path

        path = vintage_path(self.root, series_id)
        return read_vintage_csv(path, series_id) if path.is_file() else None

    def events(self) -> pd.DataFrame:
        return embedded_fed_events()

    def describe(self) -> dict[str, str]:
        return {"source": self.kind, "path": str(self.root)}

    def regimes(self) -> tuple[Regime, ...]:
        return embedded_regimes()

    @cached_property
    def available_symbols(self) -> list[str]:
        stems = sorted(p.stem for p in (self.root / "prices").glob("*.csv"))
        return [_filename_symbol(s) for s in stems]


def _filename_symbol(stem: str) -> str:
    known = {"_GSPC": "^GSPC", "_IXIC": "^IXIC", "_NDX": "^NDX", "_VIX": "^VIX", "GC_F": "GC=F"}
    return known.get(stem, stem)


def did_you_mean_symbol(name: str, choices: list[str]) -> str:
    """Up to three close symbols ("" if none): the shared hint, tuned for tickers."""
    return did_you_mean(name, choices, n=3, otherwise="")


class FrameSource:
    """In-memory prices and macro series: for tests, scenarios and notebooks."""

    kind = "frames"

    def __init__(
        self,
        prices: dict[str, pd.Series],
        macro: dict[str, pd.Series] | None = None,
        events: pd.DataFrame | None = None,
        synthetic: bool = True,
        label: str = "in-memory",
        vintages: dict[str, pd.DataFrame] | None = None,
    ) -> None:
        self._prices = prices
        self._macro = macro or {}
        self._vintages = vintages or {}
        self._events = events if events is not None else _no_events()
        self.synthetic = synthetic
        self.label = label

    def prices(self, symbol: str) -> pd.DataFrame:
        if symbol not in self._prices:
            raise DataError(
                f"unknown symbol {symbol!r}",
                did_you_mean_symbol(symbol, sorted(self._prices)) or "add it to the frames",
            )
        series = self._prices[symbol].dropna()
        frame = pd.DataFrame({"price": series.astype("float64")})
        frame.index = pd.DatetimeIndex(frame.index, name="date")
        return frame

    def macro(self, series_id: str) -> pd.Series | None:
        return self._macro.get(series_id)

    def vintages(self, series_id: str) -> pd.DataFrame | None:
        """A vintage table (engine.data.vintages) given to the constructor, or None."""
        return self._vintages.get(series_id)

    def events(self) -> pd.DataFrame:
        return self._events.copy()

    def describe(self) -> dict[str, str]:
        return {"source": self.kind, "label": self.label}

    def regimes(self) -> tuple[Regime, ...]:
        return embedded_regimes() if not self.synthetic else ()


def _no_events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.DatetimeIndex([]),
            "kind": pd.Series([], dtype=str),
            "description": pd.Series([], dtype=str),
        }
    )

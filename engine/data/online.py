"""Real data through a local cache: prices from Yahoo, macro series from FRED, offline-safe.

`OnlineSource` implements the `Source` protocol. Each series is served from the cache when it
is there; a miss is downloaded and cached; with `refresh`, a hit is topped up incrementally
(only rows after the cached last date, fetched with a few days of overlap that must agree
within 1e-6 relative, else the whole series is refetched and a note says why, e.g. a dividend
re-adjusted Yahoo's history). A corrupt cache file is reported and refetched, never used.
Offline (`offline=True`) nothing is fetched: a miss or a corrupt file is a one-line error
that says how to fill the cache or use a data directory.

`prefetch(symbols, macro_ids)` downloads all of a run's symbols in ONE yfinance call before
the panel asks for them one by one. Events and regimes are the embedded reference.

The CLI helpers live here too: `fetch_symbols` (`playbook data fetch`), `list_cache`
(`playbook data list`) and `split_ids`; what a config loads is
`engine.runs.backtest.symbols_for_config`.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from engine.core.regimes import Regime, embedded_regimes
from engine.data.cache import CacheEntry, CorruptCacheError, DataCache
from engine.data.fred import UNITS, FredSeries, FredSeriesNotFound
from engine.data.releases import RELEASE_LAGS
from engine.data.sources import embedded_fed_events
from engine.data.yahoo import FULL_HISTORY_DAYS, YahooPrices, empty_error
from engine.errors import DataError, OutputError

YAHOO = "yahoo"
FRED = "fred"
PRICE_OVERLAP_DAYS = 7  # a week of bars re-fetched to check the cache still agrees
MACRO_OVERLAP_DAYS = 45  # covers the last monthly observation of M2 and friends
REL_TOLERANCE = 1e-6

ProgressFn = Callable[[str, int, int], None]  # (description, completed, total)


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class OnlineSource:
    """Yahoo prices and FRED series through a verified local cache."""

    kind = "yahoo+fred"
    synthetic = False

    def __init__(
        self,
        cache: DataCache | str | None = None,
        offline: bool = False,
        refresh: bool = False,
        yahoo: YahooPrices | None = None,
        fred: FredSeries | None = None,
        *,
        today: Callable[[], dt.date] = utc_today,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.cache = cache if isinstance(cache, DataCache) else DataCache(cache)
        self.offline = offline
        self.refresh = refresh
        self.yahoo = yahoo if yahoo is not None else YahooPrices()
        self.fred = fred if fred is not None else FredSeries()
        self.today = today
        self.notify = notify
        self.notes: list[str] = []
        self.actions: dict[str, str] = {}  # "yahoo:SPY" -> "cache" / "fetched" / "updated +3"
        self._frames: dict[str, pd.DataFrame] = {}
        self._macro: dict[str, pd.Series | None] = {}

    # --- the Source protocol ---------------------------------------------------------------

    def prices(self, symbol: str) -> pd.DataFrame:
        self._ensure_prices([symbol])
        return price_frame(self._frames[symbol], symbol, str(self.cache.path_for(YAHOO, symbol)))

    def macro(self, series_id: str) -> pd.Series | None:
        self._ensure_macro([series_id])
        return self._macro[series_id]

    def events(self) -> pd.DataFrame:
        return embedded_fed_events()

    def describe(self) -> dict[str, str]:
        return {
            "source": self.kind,
            "cache": str(self.cache.root),
            "offline": "true" if self.offline else "false",
        }

    def regimes(self) -> tuple[Regime, ...]:
        return embedded_regimes()

    # --- batch loading ---------------------------------------------------------------------

    def prefetch(self, symbols: Iterable[str], macro_ids: Iterable[str] = ()) -> None:
        """Load a run's data up front: all symbols in one Yahoo call, then each FRED series."""
        symbols, macro_ids = _unique(symbols), _unique(macro_ids)
        if self.offline:
            missing = [s for s in symbols if not self._cached(YAHOO, s)]
            absent = [m for m in macro_ids if not self._cached(FRED, m)]
            if missing or absent:
                raise offline_miss_error([*missing, *absent], absent)
        self._ensure_prices(symbols)
        self._ensure_macro(macro_ids)

    def ohlcv(self, symbol: str) -> pd.DataFrame:
        """The full cached frame (open, high, low, close, adj_close, volume)."""
        self._ensure_prices([symbol])
        return self._frames[symbol].copy()

    def _ensure_prices(self, symbols: Sequence[str]) -> None:
        todo = [s for s in _unique(symbols) if s not in self._frames]
        if not todo:
            return
        cached: dict[str, pd.DataFrame] = {}
        missing: list[str] = []
        for symbol in todo:
            frame = self._read(YAHOO, symbol)
            if frame is None:
                missing.append(symbol)
            else:
                cached[symbol] = frame
        if self.offline and missing:
            raise offline_miss_error(missing)
        stale = cached if (self.refresh and not self.offline) else {}
        for symbol, frame in cached.items():
            if symbol not in stale:
                self._use(YAHOO, symbol, frame, "cache")
        if not missing and not stale:
            return

        today = self.today()
        full = today - dt.timedelta(days=FULL_HISTORY_DAYS)
        if missing:
            start = full
        else:
            oldest = min(frame.index[-1] for frame in stale.values()).date()
            start = max(full, oldest - dt.timedelta(days=PRICE_OVERLAP_DAYS))
        fetched = self.yahoo.fetch([*missing, *stale], start, today, allow_empty=True)
        nothing = [s for s in missing if s not in fetched]
        if nothing:
            raise empty_error(nothing)
        meta = {"provider": self.yahoo.provider(), "requested_start": str(start)}
        for symbol in missing:
            self._store(YAHOO, symbol, fetched[symbol], "fetched", meta)

        redo: list[str] = []
        for symbol, old in stale.items():
            new = fetched.get(symbol)
            if new is None:
                self._note(f"no new Yahoo data for {symbol} after {old.index[-1].date()}")
                self._use(YAHOO, symbol, old, "unchanged")
                continue
            merged, why = merge_incremental(old, new, _price_of)
            if merged is not None:
                added = len(merged) - len(old)
                self._store(YAHOO, symbol, merged, f"updated +{added}", meta)
            elif start <= full:  # this download already holds the whole history
                self._note(f"{symbol}: {why}; replaced the cached history with Yahoo's")
                self._store(YAHOO, symbol, new, "refetched", meta)
            else:
                self._note(f"{symbol}: {why}; refetching its whole history")
                redo.append(symbol)
        if redo:
            again = self.yahoo.fetch(redo, full, today)
            meta = {**meta, "requested_start": str(full)}
            for symbol in redo:
                self._store(YAHOO, symbol, again[symbol], "refetched", meta)

    def _ensure_macro(self, series_ids: Sequence[str]) -> None:
        todo = [s for s in _unique(series_ids) if s not in self._macro]
        if self.offline:
            missing = [s for s in todo if not self._cached(FRED, s)]
            if missing:
                raise offline_miss_error(missing, missing)
        for series_id in todo:
            cached = self._read(FRED, series_id)
            if cached is not None and (self.offline or not self.refresh):
                self._use(FRED, series_id, cached, "cache")
            elif cached is None:
                self._fetch_macro(series_id, None, None)
            else:
                self._fetch_macro(series_id, cached, cached.index[-1].date())

    def _fetch_macro(self, series_id: str, old: pd.DataFrame | None, last: dt.date | None) -> None:
        start = None if last is None else last - dt.timedelta(days=MACRO_OVERLAP_DAYS)
        try:
            result = self.fred.fetch(series_id, start)
        except FredSeriesNotFound as exc:
            if old is not None:
                self._note(f"{exc.problem}; keeping the cached {series_id}")
                self._use(FRED, series_id, old, "unchanged")
            else:
                self._note(exc.problem)
                self._macro[series_id] = None
                self.actions[f"{FRED}:{series_id}"] = "not on FRED"
            return
        new = result.series.to_frame("value")
        if old is None:
            self._store(FRED, series_id, new, "fetched", result.meta)
            return
        if new.empty:
            self._use(FRED, series_id, old, "unchanged")
            return
        merged, why = merge_incremental(old, new, lambda f: f["value"])
        if merged is not None:
            self._store(FRED, series_id, merged, f"updated +{len(merged) - len(old)}", result.meta)
            return
        self._note(f"{series_id}: {why} (FRED revised it); refetching the whole series")
        whole = self.fred.fetch(series_id)
        self._store(FRED, series_id, whole.series.to_frame("value"), "refetched", whole.meta)

    # --- cache plumbing --------------------------------------------------------------------

    def _read(self, source: str, symbol: str) -> pd.DataFrame | None:
        try:
            return self.cache.read(source, symbol)
        except CorruptCacheError as exc:
            if self.offline:
                raise
            self._note(f"{exc.problem}; refetching {symbol}")
            return None

    def _cached(self, source: str, symbol: str) -> bool:
        paths = (self.cache.path_for(source, symbol), self.cache.sidecar_for(source, symbol))
        return any(p.exists() for p in paths)

    def _use(self, source: str, symbol: str, frame: pd.DataFrame, action: str) -> None:
        if source == YAHOO:
            self._frames[symbol] = frame
        else:
            self._macro[symbol] = frame["value"].rename(symbol)
        self.actions[f"{source}:{symbol}"] = action

    def _store(
        self, source: str, symbol: str, frame: pd.DataFrame, action: str, meta: dict[str, Any]
    ) -> None:
        try:
            self.cache.write(source, symbol, frame, meta)
        except OutputError as exc:
            self._note(f"{exc.problem}; using the download without caching it")
        self._use(source, symbol, frame, action)

    def _note(self, message: str) -> None:
        self.notes.append(message)
        if self.notify is not None:
            self.notify(message)


def price_frame(raw: pd.DataFrame, symbol: str, where: str) -> pd.DataFrame:
    """The Source contract's frame: `price` = adj_close (else close), positive, dated, sorted."""
    price = _price_of(raw).dropna()
    out = pd.DataFrame({"price": price.to_numpy(dtype="float64")}, index=price.index)
    out.index.name = "date"
    if out.empty:
        raise DataError(f"{where}: no price rows for {symbol}", "refetch it or use --data-dir")
    if (out["price"] <= 0).any():
        bad = out.index[out["price"] <= 0][0].date()
        raise DataError(
            f"{where}: non-positive price for {symbol} on {bad}",
            f"refetch it (`playbook data fetch {symbol}`) or use --data-dir",
        )
    if out.index.has_duplicates or not out.index.is_monotonic_increasing:
        raise DataError(f"{where}: dates of {symbol} are unsorted or duplicated", "refetch it")
    return out


def merge_incremental(
    old: pd.DataFrame, new: pd.DataFrame, value: Callable[[pd.DataFrame], pd.Series]
) -> tuple[pd.DataFrame | None, str]:
    """`old` plus the rows of `new` after old's last date, if both agree where they overlap."""
    common = old.index.intersection(new.index)
    if new.index[0] > old.index[-1] or len(common) == 0:
        return None, "the new download does not overlap the cache, so it cannot be checked"
    before = value(old).loc[common].to_numpy(dtype="float64")
    after = value(new).loc[common].to_numpy(dtype="float64")
    same = np.isclose(after, before, rtol=REL_TOLERANCE, atol=0.0, equal_nan=True)
    if not same.all():
        at = common[~same][0]
        i = int(np.flatnonzero(~same)[0])
        return None, (
            f"history changed at {at.date()} ({before[i]:.6g} cached, {after[i]:.6g} now)"
        )
    appended = new.loc[new.index > old.index[-1]]
    if appended.empty:
        return old, ""
    return pd.concat([old, appended.astype(old.dtypes.to_dict())]), ""


def offline_miss_error(missing: Sequence[str], macro: Iterable[str] = ()) -> DataError:
    """`X is not in the cache (offline)`, with the `data fetch` command that fills it."""
    macro = set(macro)
    names = ", ".join(missing)
    verb = "is" if len(missing) == 1 else "are"
    args = " ".join(f"fred:{m}" if m in macro and not is_fred_id(m) else m for m in missing)
    return DataError(
        f"{names} {verb} not in the cache (offline)",
        f"run `playbook data fetch {args}` where there is a network, or use --data-dir DIR",
    )


def _price_of(frame: pd.DataFrame) -> pd.Series:
    if "adj_close" in frame and frame["adj_close"].notna().any():
        price = frame["adj_close"]
        if "close" in frame:
            price = price.fillna(frame["close"])
        return price
    return frame["close"]


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


# --- CLI helpers ---------------------------------------------------------------------------


def is_fred_id(name: str) -> bool:
    """A FRED id playbook knows (units or release table) or one written as `fred:ID`."""
    return name.lower().startswith("fred:") or name in UNITS or name in RELEASE_LAGS


def split_ids(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Command-line names -> (Yahoo symbols, FRED ids); `fred:X` / `yahoo:X` force a side."""
    symbols: list[str] = []
    macro: list[str] = []
    for name in names:
        if name.lower().startswith("yahoo:"):
            symbols.append(name[6:])
        elif is_fred_id(name):
            macro.append(name[5:] if name.lower().startswith("fred:") else name)
        else:
            symbols.append(name)
    return _unique(symbols), _unique(macro)


@dataclass(frozen=True)
class FetchReport:
    entries: list[CacheEntry]
    actions: dict[str, str]
    notes: list[str] = field(default_factory=list)


def fetch_symbols(
    cache: DataCache,
    symbols: Iterable[str],
    macro_ids: Iterable[str] = (),
    progress: ProgressFn | None = None,
    *,
    refresh: bool = True,
    yahoo: YahooPrices | None = None,
    fred: FredSeries | None = None,
    today: Callable[[], dt.date] = utc_today,
) -> FetchReport:
    """Fill or top up the cache: all symbols in one Yahoo call, then each FRED series."""
    symbols, macro_ids = _unique(symbols), _unique(macro_ids)
    source = OnlineSource(cache, False, refresh, yahoo, fred, today=today)
    total = (1 if symbols else 0) + len(macro_ids)
    done = 0

    def tick(label: str) -> None:
        if progress is not None:
            progress(label, done, total)

    if symbols:
        tick(f"Yahoo: {', '.join(symbols[:4])}{' ...' if len(symbols) > 4 else ''}")
        source._ensure_prices(symbols)
        done += 1
    for series_id in macro_ids:
        tick(f"FRED: {series_id}")
        source._ensure_macro([series_id])
        done += 1
    tick("done")
    entries = []
    for kind, names in ((YAHOO, symbols), (FRED, macro_ids)):
        for name in names:
            meta = cache.read_meta(kind, name)
            if meta is not None:
                entries.append(
                    CacheEntry(
                        kind,
                        name,
                        cache.path_for(kind, name),
                        meta.get("first"),
                        meta.get("last"),
                        meta.get("rows"),
                        meta.get("fetched_at"),
                        meta,
                    )
                )
    return FetchReport(entries, dict(source.actions), list(source.notes))


@contextmanager
def rich_progress(stream: Any = None) -> Iterator[ProgressFn | None]:
    """A rich progress bar on stderr for `fetch_symbols`; None (no bar) when not a TTY."""
    stream = stream if stream is not None else sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=stream), transient=True) as bar:
        task = bar.add_task("fetching", total=None)

        def update(description: str, completed: int, total: int) -> None:
            bar.update(task, description=description, completed=completed, total=total)

        yield update


def format_entries(entries: Sequence[CacheEntry], actions: dict[str, str] | None = None) -> str:
    """The `data list` table: symbol, source, first, last, rows, fetched_at (+ what happened)."""
    header = ("symbol", "source", "first", "last", "rows", "fetched_at")
    rows = []
    for e in entries:
        status = e.problem and f"CORRUPT: {e.problem}"
        if actions is not None:
            status = status or actions.get(f"{e.source}:{e.symbol}", "")
        rows.append(
            (
                e.symbol,
                e.source,
                e.first or "-",
                e.last or "-",
                "-" if e.rows is None else str(e.rows),
                e.fetched_at or "-",
                status or "",
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    for row in rows:
        cells = [
            c.rjust(w) if i == 4 else c.ljust(w)
            for i, (c, w) in enumerate(zip(row[:6], widths, strict=True))
        ]
        lines.append(("  ".join(cells) + "  " + row[6]).rstrip())
    return "\n".join(lines)


def list_cache(cache: DataCache) -> str:
    entries = cache.entries()
    if not entries:
        return (
            f"cache {cache.root}: empty (fill it with `playbook data fetch SYMBOL ...` or "
            "`playbook data fetch --config FILE`)"
        )
    broken = sum(1 for e in entries if e.problem)
    tail = f"; {broken} corrupt (refetch with `playbook data fetch`)" if broken else ""
    return f"{format_entries(entries)}\ncache {cache.root}: {len(entries)} series{tail}"


def format_fetch_report(report: FetchReport) -> str:
    lines = [format_entries(report.entries, report.actions)] if report.entries else []
    missing = [k for k, v in report.actions.items() if v == "not on FRED"]
    lines += [f"{k}: not on FRED, nothing cached" for k in missing]
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines)

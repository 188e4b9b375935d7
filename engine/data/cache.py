"""A local parquet cache of downloaded series, verified on every read.

Layout: `<root>/<source>/<name>.parquet` plus a sidecar `<name>.json` with what was fetched
(fetched_at, first, last, rows, the sha256 of the parquet bytes, source, symbol and any
source metadata such as FRED units and release lags). ALFRED vintage tables are stored as
`alfred/<ID>` with one row per (date, vintage): their dates repeat, which the sidecar records.
The root is the user's cache folder (`platformdirs.user_cache_dir("playbook")/data`),
`$PLAYBOOK_CACHE`, or an explicit path.

Writes are atomic and synced (`engine.io.atomic`, the parquet before its sidecar), so an
interrupted write leaves either the old entry or one whose checksum no longer matches. A read
checks everything; any mismatch raises `CorruptCacheError` naming the file, and callers
report it and refetch: a damaged cache is never used silently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from engine.data.sources import symbol_filename
from engine.errors import DataError
from engine.io.atomic import output_error, write_file_atomically
from engine.io.names import check_name, name_path

CACHE_ENV = "PLAYBOOK_CACHE"
SIDECAR_VERSION = 1


class CorruptCacheError(DataError):
    """A cache entry failed verification; `path` is the file to blame."""

    def __init__(self, path: Path, reason: str, source: str, symbol: str) -> None:
        super().__init__(
            f"cache file {path} is corrupt ({reason})",
            f"run `playbook data fetch {symbol}` with a network, or use --data-dir",
        )
        self.path = path
        self.reason = reason
        self.source = source
        self.symbol = symbol


@dataclass(frozen=True)
class CacheEntry:
    """One cached series as `data list` shows it; `problem` is set when it fails to verify."""

    source: str
    symbol: str
    path: Path
    first: str | None
    last: str | None
    rows: int | None
    fetched_at: str | None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)
    problem: str | None = None


def default_cache_root(explicit: Path | str | None = None) -> Path:
    """An explicit path, else `$PLAYBOOK_CACHE`, else the user's cache folder + /data."""
    if explicit is not None and str(explicit) != "":
        return Path(explicit).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("playbook")) / "data"


def normalize_dates(index: pd.Index) -> pd.DatetimeIndex:
    """Tz-naive midnight dates at microsecond resolution (what pandas parses CSV dates to)."""
    out = pd.DatetimeIndex(index)
    if out.tz is not None:
        out = out.tz_localize(None)
    values = out.normalize().as_unit("us").to_numpy()
    return pd.DatetimeIndex(values, name="date", freq=None)  # no inferred freq: like CSV dates


class DataCache:
    """Parquet files keyed by (source, symbol), each with a verified JSON sidecar."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = default_cache_root(root)

    def __repr__(self) -> str:
        return f"DataCache({str(self.root)!r})"

    def path_for(self, source: str, symbol: str) -> Path:
        """The entry's parquet file; the key is a plain name (engine.io.names), so its stem is the
        directory layout's (`symbol_filename`: ^GSPC -> _GSPC) and stays inside the root."""
        check_name(symbol, "cache key")
        return name_path(
            self.root, _check_source(source), symbol_filename(symbol), ".parquet", "cache key"
        )

    def sidecar_for(self, source: str, symbol: str) -> Path:
        return self.path_for(source, symbol).with_suffix(".json")

    def read(self, source: str, symbol: str) -> pd.DataFrame | None:
        """The cached frame, None if absent; `CorruptCacheError` if anything fails to verify."""
        path = self.path_for(source, symbol)
        sidecar = self.sidecar_for(source, symbol)
        if not path.exists() and not sidecar.exists():
            return None
        frame, _ = self._verified(path, sidecar, source, symbol)
        return frame

    def read_meta(self, source: str, symbol: str) -> dict[str, Any] | None:
        """The verified sidecar of an entry, None if absent (raises like `read`)."""
        path = self.path_for(source, symbol)
        sidecar = self.sidecar_for(source, symbol)
        if not path.exists() and not sidecar.exists():
            return None
        return self._verified(path, sidecar, source, symbol)[1]

    def write(
        self,
        source: str,
        symbol: str,
        frame: pd.DataFrame,
        extra_meta: dict[str, Any] | None = None,
    ) -> CacheEntry:
        """Store `frame` (date-indexed) atomically: the parquet first, then its sidecar."""
        repeated = bool((extra_meta or {}).get("repeated_dates"))
        frame = _prepared(frame, source, symbol, repeated)
        buffer = io.BytesIO()
        frame.to_parquet(buffer, engine="pyarrow", index=True)
        payload = buffer.getvalue()
        meta: dict[str, Any] = {
            "version": SIDECAR_VERSION,
            "source": source,
            "symbol": symbol,
            "fetched_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "first": _day(frame.index[0]) if len(frame) else None,
            "last": _day(frame.index[-1]) if len(frame) else None,
            "rows": len(frame),
            "columns": [str(c) for c in frame.columns],
            "sha256": hashlib.sha256(payload).hexdigest(),
            **(extra_meta or {}),
        }
        path = self.path_for(source, symbol)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(path, payload)
            text = json.dumps(meta, indent=2, sort_keys=True, default=str) + "\n"
            _write_synced(self.sidecar_for(source, symbol), text.encode())
        except OSError as exc:
            raise output_error(
                exc,
                f"cannot write the data cache at {path.parent}",
                f"or set ${CACHE_ENV} to a writable folder",
            ) from exc
        return _entry(source, symbol, path, meta)

    def remove(self, source: str, symbol: str) -> None:
        for path in (self.sidecar_for(source, symbol), self.path_for(source, symbol)):
            path.unlink(missing_ok=True)

    def entries(self) -> list[CacheEntry]:
        """Every entry under the root, verified; broken ones carry `problem`."""
        if not self.root.is_dir():
            return []
        found: list[CacheEntry] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir()):
            stems = {p.stem for p in folder.glob("*.parquet")} | {
                p.stem for p in folder.glob("*.json")
            }
            for stem in sorted(stems):
                found.append(self._entry_for(folder.name, folder / f"{stem}.parquet"))
        return sorted(found, key=lambda e: (e.source, e.symbol))

    def _entry_for(self, source: str, path: Path) -> CacheEntry:
        sidecar = path.with_suffix(".json")
        symbol = path.stem
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            symbol = str(meta.get("symbol", symbol))
        except (OSError, ValueError):
            meta = None
        try:
            _, meta = self._verified(path, sidecar, source, symbol)
        except CorruptCacheError as exc:
            return CacheEntry(source, symbol, path, None, None, None, None, {}, exc.reason)
        return _entry(source, symbol, path, meta)

    def _verified(
        self, path: Path, sidecar: Path, source: str, symbol: str
    ) -> tuple[pd.DataFrame, dict[str, Any]]:
        def corrupt(blame: Path, reason: str) -> CorruptCacheError:
            return CorruptCacheError(blame, reason, source, symbol)

        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise corrupt(path, f"its sidecar {sidecar.name} is missing") from None
        except (OSError, ValueError) as exc:
            raise corrupt(sidecar, f"unreadable sidecar: {type(exc).__name__}") from None
        if not isinstance(meta, dict):
            raise corrupt(sidecar, "the sidecar is not a JSON object")
        for key in ("sha256", "rows", "first", "last", "source", "symbol"):
            if key not in meta:
                raise corrupt(sidecar, f"the sidecar lacks {key!r}")
        if meta["source"] != source or meta["symbol"] != symbol:
            raise corrupt(
                sidecar, f"it holds {meta['source']}:{meta['symbol']}, not {source}:{symbol}"
            )
        try:
            payload = path.read_bytes()
        except FileNotFoundError:
            raise corrupt(path, "the parquet file is missing") from None
        except OSError as exc:
            raise corrupt(path, f"unreadable: {exc.strerror or exc}") from None
        if hashlib.sha256(payload).hexdigest() != meta["sha256"]:
            raise corrupt(path, "its sha256 does not match the sidecar")
        try:
            frame = pd.read_parquet(io.BytesIO(payload), engine="pyarrow")
        except Exception as exc:  # pyarrow raises several types for damaged files
            raise corrupt(path, f"not a readable parquet file: {type(exc).__name__}") from None
        if len(frame) != meta["rows"]:
            raise corrupt(path, f"{len(frame)} rows, the sidecar says {meta['rows']}")
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise corrupt(path, "the index is not dates")
        first = _day(frame.index[0]) if len(frame) else None
        last = _day(frame.index[-1]) if len(frame) else None
        if (first, last) != (meta["first"], meta["last"]):
            raise corrupt(
                path, f"spans {first}..{last}, the sidecar says {meta['first']}..{meta['last']}"
            )
        repeated = bool(meta.get("repeated_dates"))  # a vintage table: a date per vintage
        if not frame.index.is_monotonic_increasing or (frame.index.has_duplicates and not repeated):
            raise corrupt(path, "dates are unsorted or duplicated")
        frame.index = normalize_dates(frame.index)
        return frame, meta

    def write_vintages(
        self, series_id: str, table: pd.DataFrame, extra_meta: dict[str, Any] | None = None
    ) -> CacheEntry:
        """Store a vintage table (engine.data.vintages) as `alfred/<ID>`, one row per vintage."""
        frame = table.set_index("date")[["realtime_start", "realtime_end", "value"]]
        meta = {**(extra_meta or {}), "repeated_dates": True, "layout": "vintages"}
        return self.write("alfred", series_id, frame, meta)

    def read_vintages(self, series_id: str) -> pd.DataFrame | None:
        """The cached vintage table of `series_id`, None if absent (verified like `read`)."""
        frame = self.read("alfred", series_id)
        if frame is None:
            return None
        table = frame.reset_index()
        for column in ("realtime_start", "realtime_end"):
            table[column] = pd.to_datetime(table[column]).dt.normalize()
        return table[["date", "realtime_start", "realtime_end", "value"]]


def _check_source(source: str) -> str:
    if not re.fullmatch(r"[a-z0-9_-]+", source):
        raise ValueError(f"bad cache source name {source!r}")
    return source


def _prepared(
    frame: pd.DataFrame, source: str, symbol: str, repeated: bool = False
) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"cache {source}:{symbol}: expected a DataFrame")
    out = frame.copy()
    out.index = normalize_dates(out.index)
    if (out.index.has_duplicates and not repeated) or not out.index.is_monotonic_increasing:
        raise ValueError(f"cache {source}:{symbol}: dates must be ascending and unique")
    out.columns = [str(c) for c in out.columns]
    return out


def _write_synced(path: Path, payload: bytes) -> None:
    """Whole or not at all, and on disk before the rename: a cache is trusted when read."""
    write_file_atomically(path, lambda tmp: tmp.write_bytes(payload), fsync=True)


def _day(stamp: Any) -> str:
    return str(pd.Timestamp(stamp).date())


def _entry(source: str, symbol: str, path: Path, meta: dict[str, Any]) -> CacheEntry:
    return CacheEntry(
        source=source,
        symbol=symbol,
        path=path,
        first=meta.get("first"),
        last=meta.get("last"),
        rows=meta.get("rows"),
        fetched_at=meta.get("fetched_at"),
        meta=meta,
    )

"""Export the cache as a data directory that `DirectorySource` (`--data-dir`) reads back.

`prices/<SYMBOL>.csv` (date,open,high,low,close,adj_close,volume; `^` and `=` become `_`) and
`macro/<ID>.csv` (date,value), ALFRED vintage tables as `macro/vintages/<ID>.csv`
(date,realtime_start,realtime_end,value; engine.data.vintages), plus `export.json` saying
where each file came from and when it was fetched. Everything is written into a temporary
folder next to the target and moved into place, so an interrupted export leaves nothing
half-written. Corrupt cache entries are not exported; they are listed in the result so the
caller can say so.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.data.alfred import ALFRED
from engine.data.cache import CacheEntry, DataCache
from engine.data.online import FRED, YAHOO
from engine.data.sources import symbol_filename
from engine.data.vintages import vintage_csv_text, vintage_path
from engine.data.yahoo import PRICE_COLUMNS
from engine.errors import DataError, OutputError
from engine.io.atomic import output_error
from engine.io.names import is_name, name_path, shown


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    prices: list[str] = field(default_factory=list)
    macro: list[str] = field(default_factory=list)
    vintages: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "yahoo:SPY: reason"

    def summary(self) -> str:
        text = (
            f"wrote {len(self.prices)} price and {len(self.macro)} macro files to {self.out_dir}"
            f" (use it with --data-dir {self.out_dir})"
        )
        if self.vintages:
            text += f"\nvintages (macro/vintages/): {', '.join(self.vintages)}"
        if self.skipped:
            text += "\nskipped (corrupt, refetch with `playbook data fetch`): " + "; ".join(
                self.skipped
            )
        return text


def export_cache(cache: DataCache, out_dir: Path | str) -> ExportResult:
    """Write every verified cache entry into `out_dir` in the directory layout."""
    out_dir = Path(out_dir).expanduser().resolve()
    entries = [e for e in cache.entries() if e.source in (YAHOO, FRED, ALFRED)]
    if not entries:
        raise DataError(
            f"the cache {cache.root} is empty: nothing to export",
            "fill it first with `playbook data fetch SYMBOL ...`",
        )
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a folder", "choose another path")
    merging = out_dir.is_dir() and any(out_dir.iterdir())
    if merging and not ((out_dir / "prices").is_dir() or (out_dir / "macro").is_dir()):
        raise OutputError(
            f"{out_dir} is not empty and is not a data directory (no prices/ or macro/)",
            "export into a new or empty folder",
        )
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        temp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    except OSError as exc:
        raise output_error(exc, f"cannot write to {out_dir.parent}") from exc
    try:
        result = _write_all(cache, entries, temp, out_dir)
        if merging:
            _merge_into(temp, out_dir)
            shutil.rmtree(temp, ignore_errors=True)
        else:
            if out_dir.is_dir():
                out_dir.rmdir()  # empty: replaced by the finished export
            os.replace(temp, out_dir)
    except OSError as exc:
        shutil.rmtree(temp, ignore_errors=True)
        doing = f"could not write the export to {out_dir}"
        raise output_error(exc, doing, "then run again") from exc
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return result


def _write_all(cache: DataCache, entries: list, temp: Path, out_dir: Path) -> ExportResult:
    (temp / "prices").mkdir()
    (temp / "macro").mkdir()
    result = ExportResult(out_dir)
    manifest = []
    for entry in entries:
        if entry.problem:
            result.skipped.append(f"{entry.source}:{entry.symbol}: {entry.problem}")
            continue
        if not is_name(entry.symbol):  # a sidecar naming a path: never a file name here
            result.skipped.append(f"{entry.source}:{shown(entry.symbol)}: not a valid name")
            continue
        if entry.source == ALFRED:
            table = cache.read_vintages(entry.symbol)
            if table is None:  # removed meanwhile
                continue
            path = vintage_path(temp, entry.symbol)
            path.parent.mkdir(exist_ok=True)
            path.write_text(vintage_csv_text(table), encoding="utf-8")
            result.vintages.append(entry.symbol)
            manifest.append(_manifest_row(path, temp, entry))
            continue
        frame = cache.read(entry.source, entry.symbol)
        if frame is None:  # removed meanwhile
            continue
        folder = "prices" if entry.source == YAHOO else "macro"
        path = name_path(temp, folder, symbol_filename(entry.symbol), ".csv", "cached symbol")
        if entry.source == YAHOO:
            _price_csv(frame).to_csv(path, index=False)
            result.prices.append(entry.symbol)
        else:
            _macro_csv(frame).to_csv(path, index=False)
            result.macro.append(entry.symbol)
        manifest.append(_manifest_row(path, temp, entry))
    (temp / "export.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return result


def _price_csv(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({"date": frame.index.strftime("%Y-%m-%d")}, index=frame.index)
    for column in PRICE_COLUMNS:
        values = frame[column] if column in frame else pd.Series(float("nan"), index=frame.index)
        if column == "volume":
            whole = values.dropna()
            if (whole == whole.round()).all():
                values = values.astype("Int64")
        out[column] = values
    return out.reset_index(drop=True)


def _macro_csv(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {"date": frame.index.strftime("%Y-%m-%d"), "value": frame["value"].to_numpy()}
    )


def _merge_into(temp: Path, out_dir: Path) -> None:
    """Move each finished file into an existing data directory (each move is atomic)."""
    for folder in ("prices", "macro", "macro/vintages"):
        if not (temp / folder).is_dir():
            continue
        (out_dir / folder).mkdir(exist_ok=True)
        for path in sorted(p for p in (temp / folder).iterdir() if p.is_file()):
            os.replace(path, out_dir / folder / path.name)
    os.replace(temp / "export.json", out_dir / "export.json")


def _manifest_row(path: Path, temp: Path, entry: CacheEntry) -> dict[str, object]:
    """export.json's row of a written file (vintage tables: first/last are reference dates)."""
    return {
        "file": str(path.relative_to(temp)),
        "symbol": entry.symbol,
        "source": entry.source,
        "first": entry.first,
        "last": entry.last,
        "rows": entry.rows,
        "fetched_at": entry.fetched_at,
        "units": entry.meta.get("units"),
    }

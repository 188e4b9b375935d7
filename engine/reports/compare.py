"""Compare finished runs side by side, from their run folders alone (no re-running).

Runs on different date ranges are measured on their common window: each run's metrics use
its own bars inside [latest first bar, earliest last bar], annualized with those bars per
calendar year (`metrics.periods_per_year` of the run's bars in the window: a 7-day BTC run and
a 5-day 60/40 run keep their calendars, and a run whose calendar changed inside its span is
measured on the part that is compared). The yearly returns are calendar years of that window
(a year it does not span whole is marked partial). Figures the run folder only has for the
full run (turnover, the per-regime table) are shown as written and labelled so; turnover per
regime is recomputed from the folder's weights and instrument returns (`compare_measures`).
The page is one self-contained HTML file with one interactive plotly chart (plotly.js
embedded, nothing fetched), styled like the run page.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
import yaml

from engine.core import metrics
from engine.errors import ConfigError, DataError
from engine.io.atomic import output_error, write_file_atomically
from engine.io.safe_yaml import parse_yaml
from engine.reports import compare_measures as measures
from engine.reports.compare_chart import compare_figure
from engine.reports.pages.common import CSS, Figures, esc
from engine.reports.pages.links import RUN_PAGE, TEARSHEET
from engine.reports.pages.run_data import INSTRUMENT_RETURNS
from engine.reports.style import palette_color

RUN_FILE = "run.json"
CASH = metrics.CASH  # engine.core.simulate.CASH, without importing vectorbt
LIST_FIX = "`playbook runs` lists them"
REPAIR_FIX = "rerun the playbook, or delete the damaged run folder"

TURNOVER_ROW = "turnover per year (full run)"
METRIC_ROWS = (
    "CAGR",
    "Sharpe",
    "Sortino",
    "max drawdown",
    "Calmar",
    "volatility",
    "time in market",
    TURNOVER_ROW,
    "total return",
)
_ROW_FORMATS = {
    "CAGR": "{:+.2%}",
    "Sharpe": "{:.2f}",
    "Sortino": "{:.2f}",
    "max drawdown": "{:.1%}",
    "Calmar": "{:.2f}",
    "volatility": "{:.1%}",
    "time in market": "{:.1%}",
    TURNOVER_ROW: "{:.2f}",
    "total return": "{:+.1%}",
}
FINGERPRINT_KEYS = ("source", "content_sha256", "first", "last")
NOT_CONFIG_KEYS = ("name",)  # a label, already in the column headers; it moves no number
ABSENT = "(absent)"
TERMINAL_DIFF_ROWS = 12
NOT_COVERED = "not covered"
NOT_MEASURED = "absent"  # coverage of a regime missing from a run's regimes.csv
REGIME_FIGURES = ("return", "max drawdown", "turnover")  # per run, in the regime table

# --- reading run folders --------------------------------------------------------------


@dataclass(frozen=True)
class RunRecord:
    """One finished run as written to its folder (see engine.runs.store)."""

    folder: Path
    run: dict
    stats: dict
    config: dict
    fingerprint: dict
    returns: pd.DataFrame
    regimes: pd.DataFrame | None

    @property
    def id(self) -> str:
        return str(self.run.get("id") or self.folder.name)

    @property
    def synthetic(self) -> bool:
        return bool(self.run.get("synthetic"))

    @property
    def name(self) -> str:
        """The config's name, else the strategy: what the run's title leads with."""
        return str(self.config.get("name") or self.run.get("strategy") or self.folder.name)


def load_run(folder: Path) -> RunRecord:
    """Read one run folder; a missing or corrupt file is a DataError naming that file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"run folder {folder} not found", f"check the path; {LIST_FIX}")
    return RunRecord(
        folder=folder,
        run=_read_mapping(folder / RUN_FILE, _parse_json),
        stats=_read_stats(folder / "stats.json"),
        config=_read_mapping(folder / "config.yaml", _parse_config_yaml(folder)),
        fingerprint=_read_mapping(folder / "fingerprint.json", _parse_json),
        returns=_read_returns(folder / "returns.parquet"),
        regimes=_read_regimes(folder / "regimes.csv"),
    )


def _parse_config_yaml(folder: Path) -> Callable[[str], Any]:
    """A run's config.yaml through the bounded YAML reader (an alias bomb is refused)."""
    where = str(folder / "config.yaml")
    return lambda text: parse_yaml(text, where, DataError).data


def _parse_json(text: str) -> Any:
    return json.loads(text)


def _read_mapping(path: Path, parse: Callable[[str], Any]) -> dict:
    """A JSON/YAML file holding one mapping; anything else names the file."""
    if not path.is_file():
        raise DataError(f"{path} is missing", REPAIR_FIX)
    try:
        value = parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())[:120]
        raise DataError(f"{path} is unreadable or corrupt: {problem}", REPAIR_FIX) from exc
    if not isinstance(value, dict):
        raise DataError(f"{path} is corrupt: expected a mapping", REPAIR_FIX)
    return value


def _read_stats(path: Path) -> dict:
    """stats.json, which must say how many bars made a year of the run (an int in run folders
    written before annualization counted the window's bars, a float since); either is valid."""
    stats = _read_mapping(path, _parse_json)
    ppy = stats.get("periods_per_year")
    if isinstance(ppy, bool) or not isinstance(ppy, int | float) or not 0 < ppy < math.inf:
        raise DataError(f"{path} is corrupt: periods_per_year is {ppy!r}", REPAIR_FIX)
    return stats


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path} is missing", REPAIR_FIX)
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError, TypeError) as exc:
        problem = " ".join(str(exc).split())[:120]
        raise DataError(f"{path} is unreadable or corrupt: {problem}", REPAIR_FIX) from exc


def _read_returns(path: Path) -> pd.DataFrame:
    """returns.parquet: strategy and cash columns on increasing dates, every value finite."""
    frame = _read_parquet(path)
    missing = [c for c in ("strategy", "cash") if c not in frame.columns]
    index = frame.index
    if missing:
        raise DataError(f"{path} is corrupt: no {', '.join(missing)} column", REPAIR_FIX)
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        raise DataError(f"{path} is corrupt: needs at least two dated rows", REPAIR_FIX)
    if not index.is_monotonic_increasing or not index.is_unique:
        raise DataError(f"{path} is corrupt: dates are not unique and increasing", REPAIR_FIX)
    values = frame[["strategy", "cash"]].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise DataError(f"{path} is corrupt: a return is missing or infinite", REPAIR_FIX)
    return frame


def _read_regimes(path: Path) -> pd.DataFrame | None:
    """regimes.csv, or None when the run has none (older runs, or no regime catalog)."""
    if not path.is_file():
        return None
    try:
        frame = pd.read_csv(path, keep_default_na=True)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        problem = " ".join(str(exc).split())[:120]
        raise DataError(f"{path} is unreadable or corrupt: {problem}", REPAIR_FIX) from exc
    missing = [c for c in ("regime", "start", "end", "coverage", "return") if c not in frame]
    if missing:
        raise DataError(f"{path} is corrupt: no {', '.join(missing)} column", REPAIR_FIX)
    return frame


# --- finding runs ---------------------------------------------------------------------


def _run_folders(results_dir: Path) -> list[Path]:
    """Run folders under results_dir: hidden ones (`.tmp-*` writes) and non-runs skipped."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        return []
    return [
        child
        for child in results_dir.iterdir()
        if child.is_dir() and not child.name.startswith(".") and (child / RUN_FILE).is_file()
    ]


def _created(folder: Path) -> str:
    """When a run was written, as an ISO string; the id's timestamp if run.json lacks it."""
    try:
        created = json.loads((folder / RUN_FILE).read_text(encoding="utf-8")).get("created")
    except (OSError, ValueError, AttributeError):
        created = None
    if isinstance(created, str) and created:
        return created
    stamp = re.match(r"^(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)-", folder.name)
    if stamp is None:
        return ""
    y, mo, d, h, mi, s = stamp.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}"


def _newest_first(folders: Sequence[Path]) -> list[Path]:
    """Newest first by creation time; runs written in the same second by folder mtime."""
    keyed = [(_created(f), f.stat().st_mtime_ns, f.name, f) for f in folders]
    return [entry[-1] for entry in sorted(keyed, key=lambda e: e[:3], reverse=True)]


def list_runs(results_dir: Path) -> list[RunRecord]:
    """Every run under results_dir, newest first."""
    return [load_run(folder) for folder in _newest_first(_run_folders(results_dir))]


def resolve_runs(refs: Sequence[str], results_dir: Path, latest: int | None = None) -> list[Path]:
    """Run folders for folder paths, run ids or unique id prefixes, then the `latest` newest.

    The same run may appear twice (it is compared with itself, labelled #1/#2).
    """
    results_dir = Path(results_dir)
    folders = [_resolve_ref(ref, results_dir) for ref in refs]
    if latest is not None:
        folders += _latest(results_dir, latest)
    if not folders:
        raise ConfigError("no runs to compare", f"give run ids or folders ({LIST_FIX})")
    return folders


def _latest(results_dir: Path, count: int) -> list[Path]:
    if count < 1:
        raise ConfigError(f"asked for the {count} newest runs", "ask for at least 1")
    newest = _newest_first(_run_folders(results_dir))
    if len(newest) < count:
        raise DataError(
            f"asked for the {count} newest runs but {results_dir} holds {len(newest)}",
            f"ask for fewer, or run more playbooks ({LIST_FIX})",
        )
    return newest[:count]


def _resolve_ref(ref: str, results_dir: Path) -> Path:
    """A folder path, else an exact run id, else a unique id prefix, under results_dir."""
    if not ref.strip():
        raise ConfigError("an empty run reference", f"give a run id or folder ({LIST_FIX})")
    path = Path(ref)
    if path.is_dir():
        if (path / RUN_FILE).is_file():
            return path
        raise DataError(f"{ref} is not a run folder (no {RUN_FILE})", f"give a run; {LIST_FIX}")
    runs = sorted(_run_folders(results_dir), key=lambda f: f.name)
    exact = [f for f in runs if f.name == ref]
    matches = exact or [f for f in runs if f.name.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(f.name for f in matches[:8])
        more = f" and {len(matches) - 8} more" if len(matches) > 8 else ""
        raise ConfigError(
            f"run id prefix {ref!r} matches {len(matches)} runs: {shown}{more}",
            "give more of the run id",
        )
    raise DataError(
        f"no run {ref!r} in {results_dir} (not a folder, run id or id prefix)",
        f"{LIST_FIX}; or pass the run folder's path",
    )


# --- comparing ------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Runs measured on one common window, plus what differs between their setups."""

    runs: list[RunRecord]
    labels: list[str]
    window: tuple[pd.Timestamp, pd.Timestamp]
    windows_differ: bool
    metrics: pd.DataFrame  # METRIC_ROWS x labels, floats (NaN where undefined)
    regimes: pd.DataFrame  # regime x (start, end, description, "<label> <REGIME_FIGURES>")
    config_diff: pd.DataFrame  # differing keys x labels, values as shown
    returns: pd.DataFrame  # strategy returns in the window, labels as columns (NaN off-calendar)
    notes: list[str]
    yearly: pd.DataFrame  # calendar year x (labels, benchmarks): compounded return in the window
    partial_years: dict[int, str]  # years the window does not span whole: the part it does
    benchmarks: pd.DataFrame  # each distinct benchmark's returns in the window ("benchmark SPY")
    exposure: dict[str, pd.Series]  # label -> gross exposure per bar in the window


def compare_runs(records: Sequence[RunRecord]) -> Comparison:
    """Measure every run on the common window of all of them."""
    records = list(records)
    if not records:
        raise ConfigError("no runs to compare", f"give run ids or folders ({LIST_FIX})")
    labels = run_labels(records)
    start, end = _common_window(records)
    sliced = [_in_window(r.returns, start, end) for r in records]
    _check_enough_bars(records, sliced, start, end)
    weights = [_read_weights(r) for r in records]
    exposure = {
        label: metrics.gross_exposure(_window_weights(r, w, s.index))
        for label, r, w, s in zip(labels, records, weights, sliced, strict=True)
    }
    table = pd.DataFrame(
        {
            label: _window_metrics(r, s, exposure[label])
            for label, r, s in zip(labels, records, sliced, strict=True)
        },
        index=list(METRIC_ROWS),
    )
    table.index.name = "metric"
    returns = pd.concat(
        [s["strategy"].rename(label) for label, s in zip(labels, sliced, strict=True)], axis=1
    ).sort_index()
    benchmarks = _benchmarks(records, sliced)
    yearly = pd.concat(
        {name: measures.yearly_returns(column) for name, column in returns.items()}
        | {name: measures.yearly_returns(column) for name, column in benchmarks.items()},
        axis=1,
    )
    differ = any(len(s) != len(r.returns) for r, s in zip(records, sliced, strict=True))
    turnover = [_bar_turnover(r, w) for r, w in zip(records, weights, strict=True)]
    regimes, regime_notes = _regime_table(records, labels, turnover)
    return Comparison(
        runs=records,
        labels=labels,
        window=(start, end),
        windows_differ=differ,
        metrics=table,
        regimes=regimes,
        config_diff=_config_diff(records, labels),
        returns=returns,
        notes=[*_notes(records, labels, sliced), *regime_notes],
        yearly=yearly,
        partial_years=measures.partial_years(start, end),
        benchmarks=benchmarks,
        exposure=exposure,
    )


def run_labels(records: Sequence[RunRecord]) -> list[str]:
    """`<name> <hash8>` per run; repeats get `#1`, `#2`... in the order given."""
    bases = [f"{r.name} {_short_id(r)}" for r in records]
    counts = {b: bases.count(b) for b in bases}
    seen: dict[str, int] = {}
    labels = []
    for base in bases:
        seen[base] = seen.get(base, 0) + 1
        labels.append(f"{base} #{seen[base]}" if counts[base] > 1 else base)
    return labels


def _short_id(record: RunRecord) -> str:
    """The config hash (and `-N` suffix) from the run id, else run.json's config_hash."""
    match = re.search(r"-([0-9a-f]{8}(?:-\d+)?)$", record.id)
    if match:
        return match.group(1)
    return str(record.run.get("config_hash") or record.folder.name[-8:])


def _common_window(records: Sequence[RunRecord]) -> tuple[pd.Timestamp, pd.Timestamp]:
    """[latest first bar, earliest last bar]; a DataError naming two runs if it is empty."""
    late = max(records, key=lambda r: r.returns.index[0])
    early = min(records, key=lambda r: r.returns.index[-1])
    start, end = pd.Timestamp(late.returns.index[0]), pd.Timestamp(early.returns.index[-1])
    if start > end:
        raise DataError(
            f"runs {early.id} and {late.id} share no dates ({early.id} ends {end.date()}, "
            f"{late.id} starts {start.date()})",
            f"compare runs whose date ranges overlap; {LIST_FIX} with their dates",
        )
    return start, end


def _in_window(frame: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    return frame.loc[(frame.index >= start) & (frame.index <= end)]


def _check_enough_bars(
    records: Sequence[RunRecord],
    sliced: Sequence[pd.DataFrame],
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> None:
    """Volatility and Sharpe need two bars in the window from every run."""
    for record, frame in zip(records, sliced, strict=True):
        if len(frame) < 2:
            raise DataError(
                f"run {record.id} has {len(frame)} bar(s) in the common window "
                f"{start.date()} to {end.date()}: too few to measure",
                f"compare runs whose date ranges overlap by more; {LIST_FIX} with their dates",
            )


def _window_metrics(
    record: RunRecord, frame: pd.DataFrame, exposure: pd.Series
) -> dict[str, float]:
    """engine.core.metrics on the run's own bars in the window, with their own bars per year."""
    ppy = metrics.periods_per_year(pd.DatetimeIndex(frame.index))
    returns, cash = frame["strategy"], frame["cash"]
    turnover = record.stats.get("turnover_per_year")
    return {
        "CAGR": metrics.cagr(returns),
        "Sharpe": metrics.sharpe(returns, ppy, cash),
        "Sortino": metrics.sortino(returns, ppy, cash),
        "max drawdown": metrics.max_drawdown(returns),
        "Calmar": metrics.calmar(returns),
        "volatility": metrics.volatility(returns, ppy),
        "time in market": metrics.time_in_market(exposure),
        TURNOVER_ROW: float(turnover) if isinstance(turnover, int | float) else math.nan,
        "total return": metrics.total_return(returns),
    }


def _read_weights(record: RunRecord) -> pd.DataFrame:
    """weights.parquet: end-of-bar weights on dates, with the CASH column."""
    path = record.folder / "weights.parquet"
    weights = _read_parquet(path)
    if CASH not in weights.columns or not isinstance(weights.index, pd.DatetimeIndex):
        raise DataError(f"{path} is corrupt: no {CASH} column or no dates", REPAIR_FIX)
    return weights


def _window_weights(
    record: RunRecord, weights: pd.DataFrame, index: pd.DatetimeIndex
) -> pd.DataFrame:
    """The weights on the window's bars; a bar returns.parquet has and weights lack is corrupt."""
    window = weights.reindex(index)
    if window.isna().all(axis=1).any():
        path = record.folder / "weights.parquet"
        raise DataError(f"{path} is corrupt: it lacks bars that returns.parquet has", REPAIR_FIX)
    return window


def _benchmarks(records: Sequence[RunRecord], sliced: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Each distinct benchmark symbol once, on the first run that has it, in the window."""
    found: dict[str, pd.Series] = {}
    for record, frame in zip(records, sliced, strict=True):
        bench = record.stats.get("benchmark")
        if "benchmark" in frame.columns and isinstance(bench, dict) and bench.get("symbol"):
            found.setdefault(f"benchmark {bench['symbol']}", frame["benchmark"].astype(float))
    if not found:
        return pd.DataFrame(index=pd.DatetimeIndex([]))
    return pd.concat(found, axis=1).sort_index()


def _bar_turnover(record: RunRecord, weights: pd.DataFrame) -> pd.Series | None:
    """stats.json's turnover on each bar of the run (`compare_measures.bar_turnover`), or None
    when the folder has no instrument returns (written with the run page) that match it."""
    path = record.folder / INSTRUMENT_RETURNS
    if not path.is_file():
        return None
    returns = _read_parquet(path)
    if list(returns.columns) != list(weights.columns) or not returns.index.equals(weights.index):
        return None
    strategy = record.returns["strategy"].reindex(weights.index)
    costs = record.config.get("costs")
    bps = costs.get("slippage_bps", 0.0) if isinstance(costs, dict) else 0.0
    slippage = float(bps) / 1e4 if isinstance(bps, int | float) else 0.0
    return measures.bar_turnover(weights, returns, strategy, slippage)


# --- per-regime and config tables -----------------------------------------------------


def _regime_table(
    records: Sequence[RunRecord],
    labels: Sequence[str],
    turnover: Sequence[pd.Series | None],
) -> tuple[pd.DataFrame, list[str]]:
    """Each run's regimes.csv as written (its full run): return, max drawdown and coverage per
    regime, and its turnover per year on the regime's bars (CASH excluded, as stats.json's)."""
    catalog: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    redated: list[str] = []
    for record in records:
        for row in [] if record.regimes is None else record.regimes.to_dict("records"):
            name, span = str(row["regime"]), (str(row["start"]), str(row["end"]))
            known = catalog.setdefault(
                name, {"start": span[0], "end": span[1], "description": _text(row, "description")}
            )
            if (known["start"], known["end"]) != span and name not in redated:
                redated.append(name)
    order = sorted(catalog, key=lambda n: (catalog[n]["start"], n))
    table = pd.DataFrame(
        {key: [catalog[n][key] for n in order] for key in ("start", "end", "description")},
        index=pd.Index(order, name="regime"),
        dtype=object,
    )
    for label, record, per_bar in zip(labels, records, turnover, strict=True):
        columns = _regime_columns(record, order, per_bar)
        for figure in REGIME_FIGURES:
            table[f"{label} {figure}"] = pd.Series(columns[figure], index=table.index, dtype=float)
        table[f"{label} coverage"] = pd.Series(columns["coverage"], index=table.index, dtype=object)
        if record.regimes is None:
            notes.append(f"{label} has no regimes.csv: its regime column is empty")
        elif per_bar is None:
            notes.append(
                f"{label} has no {INSTRUMENT_RETURNS} (written with the run page): its turnover "
                "per regime is n/a; rerun it with reports to see it"
            )
    if redated:
        notes.append(
            f"regimes with different dates in different runs (each run used its own): "
            f"{', '.join(redated)}"
        )
    return table, notes


def _regime_columns(
    record: RunRecord, order: Sequence[str], per_bar: pd.Series | None
) -> dict[str, list]:
    """Return, max drawdown, turnover and coverage per regime; uncovered and absent regimes
    get NaN, never 0."""
    rows = (
        {}
        if record.regimes is None
        else {str(r["regime"]): r for r in record.regimes.to_dict("records")}
    )
    columns: dict[str, list] = {key: [] for key in (*REGIME_FIGURES, "coverage")}
    for name in order:
        row = rows.get(name)
        kind = NOT_MEASURED if row is None else str(row["coverage"])
        covered = row is not None and kind != "none" and _finite(row.get("return"))
        columns["coverage"].append(kind)
        if row is None or not covered:
            for figure in REGIME_FIGURES:
                columns[figure].append(math.nan)
            continue
        drawdown = row.get("max_drawdown")
        columns["return"].append(float(row["return"]))
        columns["max drawdown"].append(float(drawdown) if _finite(drawdown) else math.nan)
        columns["turnover"].append(
            math.nan
            if per_bar is None
            else measures.regime_turnover(per_bar, str(row["start"]), str(row["end"]))
        )
    return columns


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(row: dict, key: str) -> str:
    value = row.get(key)
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _flat_setup(record: RunRecord) -> dict[str, str]:
    """The resolved config as dotted keys, plus the data fingerprint's identity."""
    flat: dict[str, str] = {}
    for key, value in record.config.items():
        if key not in NOT_CONFIG_KEYS:
            _flatten(key, value, flat)
    for key in FINGERPRINT_KEYS:
        flat[f"fingerprint.{key}"] = _show(record.fingerprint.get(key))
    return flat


def _flatten(prefix: str, value: Any, into: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}", inner, into)
    else:
        into[prefix] = _show(value)


def _show(value: Any) -> str:
    """One canonical string per value, so equal settings compare equal."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _config_diff(records: Sequence[RunRecord], labels: Sequence[str]) -> pd.DataFrame:
    """Only the keys whose values differ across runs (empty when the setups are identical)."""
    flats = [_flat_setup(r) for r in records]
    keys = _key_order(flats)
    differing = [k for k in keys if len({flat.get(k, ABSENT) for flat in flats}) > 1]
    return pd.DataFrame(
        {
            label: [flat.get(k, ABSENT) for k in differing]
            for label, flat in zip(labels, flats, strict=True)
        },
        index=pd.Index(differing, name="key"),
        dtype=object,
    )


def _key_order(flats: Sequence[dict[str, str]]) -> list[str]:
    """Every key once, grouped by section (params.*, costs.*...) in config.yaml's order."""
    keys = list(dict.fromkeys(k for flat in flats for k in flat))
    sections = list(dict.fromkeys(k.split(".")[0] for k in keys))
    return sorted(keys, key=lambda k: (sections.index(k.split(".")[0]), keys.index(k)))


# --- notes and text -------------------------------------------------------------------


def _notes(
    records: Sequence[RunRecord], labels: Sequence[str], sliced: Sequence[pd.DataFrame]
) -> list[str]:
    notes = []
    for label, record, frame in zip(labels, records, sliced, strict=True):
        if len(frame) != len(record.returns):
            first, last = record.returns.index[0].date(), record.returns.index[-1].date()
            notes.append(
                f"{label} ran {first} to {last} ({len(record.returns)} bars); it is measured "
                f"on its {len(frame)} bars in the common window"
            )
    if any(len(f) != len(r.returns) for r, f in zip(records, sliced, strict=True)):
        notes.append(
            "turnover per year is each run's full-run figure from stats.json, "
            "not cut to the common window"
        )
    notes += _data_notes(records, labels)
    per_year = {
        label: round(metrics.periods_per_year(pd.DatetimeIndex(frame.index)), 1)
        for label, frame in zip(labels, sliced, strict=True)
    }
    if len(set(per_year.values())) > 1:
        shown = ", ".join(f"{label} {n:g}" for label, n in per_year.items())
        notes.append(f"each run is annualized with its own bars a year: {shown}")
    return notes


def _data_notes(records: Sequence[RunRecord], labels: Sequence[str]) -> list[str]:
    synthetic = [label for label, r in zip(labels, records, strict=True) if r.synthetic]
    real = [label for label, r in zip(labels, records, strict=True) if not r.synthetic]
    if synthetic and real:
        return [mixed_data_warning(synthetic, real)]
    if synthetic:
        return ["all runs use the SYNTHETIC market (fictional dates), not real history"]
    return []


def mixed_data_warning(synthetic: Sequence[str], real: Sequence[str]) -> str:
    return (
        f"SYNTHETIC and real data are mixed: {', '.join(synthetic)} ran on the synthetic "
        f"market (fictional dates), {', '.join(real)} on real history"
    )


def window_line(comparison: Comparison) -> str:
    """`compared on the common window A to B`, and which runs were cut to it."""
    start, end = comparison.window
    line = f"compared on the common window {start.date()} to {end.date()}"
    cut = [
        label
        for label, record in zip(comparison.labels, comparison.runs, strict=True)
        if comparison.returns[label].notna().sum() != len(record.returns)
    ]
    if cut:
        line += f"; cut to it from longer runs: {', '.join(cut)}"
    return line


def format_value(row: str, value: float) -> str:
    """A metric as the tables show it; undefined values read n/a, never 0."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return _ROW_FORMATS.get(row, "{:.4g}").format(value)


def _align(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    """Rows of cells as text columns: first left-aligned, the rest right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _short(text: str, width: int = 24) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def format_comparison(comparison: Comparison) -> str:
    """The terminal view: metrics per run as columns, the window line, differences, notes."""
    labels = comparison.labels
    data = ["SYNTHETIC" if r.synthetic else "real" for r in comparison.runs]
    rows = [["", *labels], ["data", *data]]
    for row, values in comparison.metrics.iterrows():
        rows.append([str(row), *(format_value(str(row), float(v)) for v in values)])
    lines = [window_line(comparison), *_align(rows)]
    lines.append("runs:")
    lines += [f"  {label}: {r.id}" for label, r in zip(labels, comparison.runs, strict=True)]
    lines += _diff_lines(comparison.config_diff)
    if comparison.notes:
        lines.append("notes:")
        lines += [f"  - {note}" for note in comparison.notes]
    return "\n".join(lines)


def _diff_lines(diff: pd.DataFrame) -> list[str]:
    """The config differences, at most TERMINAL_DIFF_ROWS (the page has them all).

    When the strategies differ their params differ by nature, so costs, data and the
    fingerprint come first.
    """
    if diff.empty:
        return ["configs and data are identical"]
    keys = list(diff.index)
    if "strategy" in keys:
        keys.sort(key=lambda k: k.startswith("params."))
    shown = diff.loc[keys[:TERMINAL_DIFF_ROWS]]
    rows = [["", *(str(c) for c in diff.columns)]]
    rows += [[str(key), *(_short(str(v)) for v in values)] for key, values in shown.iterrows()]
    lines = ["differences:", *_align(rows)]
    if len(diff) > len(shown):
        lines.append(f"  ... and {len(diff) - len(shown)} more (see the compare page)")
    return lines


def runs_table(records: Sequence[RunRecord]) -> str:
    """`playbook runs`: one line per run with its full-run headline numbers."""
    if not records:
        return "no runs"
    rows = [["id", "strategy", "dates", "data", "CAGR", "Sharpe", "max DD"]]
    for record in records:
        stats = record.stats
        strategy = str(record.run.get("strategy") or "?")
        if record.name != strategy:
            strategy = f"{strategy} ({record.name})"
        rows.append(
            [
                record.id,
                strategy,
                f"{stats.get('start', '?')} to {stats.get('end', '?')}",
                "SYNTHETIC" if record.synthetic else "real",
                format_value("CAGR", _number(stats.get("cagr"))),
                format_value("Sharpe", _number(stats.get("sharpe"))),
                format_value("max drawdown", _number(stats.get("max_drawdown"))),
            ]
        )
    return "\n".join(line.removeprefix("  ") for line in _align(rows))


def _number(value: Any) -> float:
    """A stats.json number; null (undefined, e.g. Sharpe of a flat run) is NaN."""
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


# --- the HTML page --------------------------------------------------------------------

# The run page's look (pages.common.CSS) plus what only this page has.
_CSS = """
.notice{background:#fff8e1;border-left:4px solid #e0a800;padding:8px 12px}
.warning{background:#fdecea;border:2px solid #c0392b;color:#7b1a12;padding:10px 14px;
 font-weight:bold;font-size:15px}
.synthetic{background:#eef4fb;border-left:4px solid #348dc1;padding:8px 12px}
.small{font-size:12px;color:#555}
.swatch{display:inline-block;width:12px;height:12px;margin-right:6px;vertical-align:middle}
th:first-child,td:first-child,td.text,th.text{text-align:left}
th.run{text-align:center;border-left:1px solid #ddd}
td.first,th.first{border-left:1px solid #ddd}
tr.partial td{font-style:italic;color:#555}
code{font-size:12px}
#config-diff td{text-align:left;overflow-wrap:anywhere}
"""


def _e(text: object) -> str:
    return esc(text)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _href(target: Path, page_dir: Path) -> str:
    """A link to target relative to the page's folder, else an absolute file URI."""
    try:
        relative = os.path.relpath(target.resolve(), page_dir.resolve())
    except ValueError:  # another drive (Windows): no relative path exists
        return target.resolve().as_uri()
    return quote(Path(relative).as_posix())


def _banner(comparison: Comparison) -> str:
    synthetic = [
        lb for lb, r in zip(comparison.labels, comparison.runs, strict=True) if r.synthetic
    ]
    real = [lb for lb, r in zip(comparison.labels, comparison.runs, strict=True) if not r.synthetic]
    if synthetic and real:
        text = mixed_data_warning(synthetic, real) + ": do not read their differences as evidence."
        return f'<p id="data-warning" class="warning">{_e(text)}</p>'
    if synthetic:
        return (
            '<p id="data-warning" class="synthetic"><strong>SYNTHETIC data</strong>: every run '
            "here uses the embedded synthetic market (fictional dates), not real history.</p>"
        )
    return ""


def _runs_html(comparison: Comparison, page_dir: Path) -> str:
    head = (
        "<tr><th>run</th><th class='text'>title</th><th class='text'>id</th>"
        "<th class='text'>ran</th><th>bars in window</th><th class='text'>data</th>"
        "<th class='text'>report</th></tr>"
    )
    rows = []
    for i, (label, record) in enumerate(zip(comparison.labels, comparison.runs, strict=True)):
        index = record.returns.index
        tearsheet = record.folder / TEARSHEET
        link = (
            f'<a href="{_e(_href(tearsheet, page_dir))}">tearsheet</a>'
            if tearsheet.is_file()
            else '<span class="muted">no tearsheet (run with reports)</span>'
        )
        run_page = record.folder / RUN_PAGE
        if run_page.is_file():
            link += f' <a href="{_e(_href(run_page, page_dir))}">run page</a>'
        notes = "".join(
            f"<br><span class='small'>{_e(n)}</span>" for n in record.run.get("notes") or []
        )
        cells = [
            f'<td><span class="swatch" style="background:{palette_color(i)}"></span>'
            f"{_e(label)}</td>",
            f"<td class='text'>{_e(record.run.get('title', ''))}{notes}</td>",
            f"<td class='text'><code>{_e(record.id)}</code></td>",
            f"<td class='text'>{index[0].date()} to {index[-1].date()}</td>",
            f"<td>{int(comparison.returns[label].notna().sum())} of {len(index)}</td>",
            f"<td class='text'>{'SYNTHETIC' if record.synthetic else 'real'}</td>",
            f"<td class='text'>{link}</td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table id="runs-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _metrics_html(comparison: Comparison) -> str:
    head = "<tr><th>metric</th>" + "".join(f"<th>{_e(lb)}</th>" for lb in comparison.labels)
    rows = []
    for row, values in comparison.metrics.iterrows():
        cells = "".join(f"<td>{_e(format_value(str(row), float(v)))}</td>" for v in values)
        rows.append(f"<tr><td>{_e(row)}</td>{cells}</tr>")
    return (
        f'<table id="metrics-table"><thead>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        "</table><p class='small'>Each run on its own bars in the common window, annualized "
        "with those bars per calendar year; CAGR compounds over calendar time; Sharpe and "
        "Sortino are in excess of the run's own cash return; time in market is the share of "
        "bars ending with any non-cash exposure; "
        "turnover is the run's full-run figure from stats.json.</p>"
    )


def _regime_cell(value: float, coverage: str, figure: str) -> str:
    if coverage == NOT_MEASURED:
        return '<span class="muted">not in this run\'s regimes</span>'
    if coverage == "none":
        return f'<span class="muted">{NOT_COVERED}</span>'
    if not math.isfinite(value):
        return '<span class="muted">n/a</span>'
    text = f"{value:.2f}" if figure == "turnover" else f"{value:+.1%}"
    return text + ("" if coverage == "full" else f' <span class="small">({_e(coverage)})</span>')


def _regimes_html(comparison: Comparison) -> str:
    table = comparison.regimes
    intro = (
        "<p class='small'>Each run's regimes.csv as written: return and max drawdown over its "
        "<em>full</em> run (not cut to the common window), from the close before the regime "
        "to its end; turnover per year on the same bars (the sum of risky orders' traded "
        "notional over wealth, CASH excluded, per calendar year: stats.json's definition); "
        "partial means the run covered only part of the regime.</p>"
    )
    if table.empty:
        return (
            intro
            + '<table id="regimes-table"><tr><td>no run has a per-regime table</td></tr></table>'
        )
    span = len(REGIME_FIGURES)
    head = "<tr><th rowspan='2'>regime</th><th rowspan='2' class='text'>dates</th>" + "".join(
        f"<th class='run' colspan='{span}'>{_e(lb)}</th>" for lb in comparison.labels
    )
    first = ("first", "", "")  # a line between runs
    head += "</tr><tr>" + "".join(
        f'<th class="{css}">{heading}</th>'
        for _ in comparison.labels
        for css, heading in zip(first, ("return", "max DD", "turnover/yr"), strict=True)
    )
    rows = []
    for name, row in table.iterrows():
        cells = "".join(
            f'<td class="{css}">'
            f"{_regime_cell(float(row[f'{lb} {fig}']), str(row[f'{lb} coverage']), fig)}</td>"
            for lb in comparison.labels
            for css, fig in zip(first, REGIME_FIGURES, strict=True)
        )
        rows.append(
            f'<tr><td title="{_e(row["description"])}">{_e(name)}</td>'
            f"<td class='text'>{_e(row['start'])} to {_e(row['end'])}</td>{cells}</tr>"
        )
    return (
        f'{intro}<table id="regimes-table"><thead>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _yearly_value(value: float) -> str:
    return f"{value:+.1%}" if math.isfinite(value) else '<span class="muted">n/a</span>'


def _yearly_html(comparison: Comparison) -> str:
    """Year x run (and benchmark): compounded return of the calendar year in the window."""
    yearly = comparison.yearly
    head = "<tr><th>year</th>" + "".join(f"<th>{_e(name)}</th>" for name in yearly.columns)
    rows = []
    for year, values in yearly.iterrows():
        part = comparison.partial_years.get(int(year))
        shown = f"{year} <span class='small'>(partial: {_e(part)})</span>" if part else str(year)
        cells = "".join(f"<td>{_yearly_value(float(v))}</td>" for v in values)
        css = " class='partial'" if part else ""
        rows.append(f"<tr{css}><td>{shown}</td>{cells}</tr>")
    return (
        f'<table id="yearly-table"><thead>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
        "</table><p class='small'>Each run's bars in the common window, compounded per calendar "
        "year; a partial year is only the part of it in the window, not a whole year's "
        "return.</p>"
    )


def _config_html(comparison: Comparison) -> str:
    diff = comparison.config_diff
    if diff.empty:
        return (
            '<table id="config-diff"><tr><td>configs and data are identical '
            "(resolved config.yaml and data fingerprint)</td></tr></table>"
        )
    head = "<tr><th>setting</th>" + "".join(f"<th>{_e(lb)}</th>" for lb in comparison.labels)
    rows = [
        f"<tr><td><code>{_e(key)}</code></td>"
        + "".join(f"<td><code>{_e(v)}</code></td>" for v in values)
        + "</tr>"
        for key, values in diff.iterrows()
    ]
    return (
        "<p class='small'>Only the settings that differ (resolved config.yaml and the data "
        f'fingerprint).</p><table id="config-diff"><thead>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _chart_html(comparison: Comparison) -> str:
    """The interactive chart (plotly.js embedded once, so the page works offline)."""
    figure = compare_figure(comparison.returns, comparison.exposure, comparison.benchmarks)
    explain = (
        '<p class="lede">Growth of 1 on a log scale for each run and its benchmark (dashed '
        "grey), each on its own bars in the common window; the middle panel is each run's "
        "gross exposure (risky weights at the end of the bar, CASH excluded); the bottom "
        "panel its drawdown. Drag to zoom, double-click to reset, hover for the values, "
        "click a run in the legend to hide or show it in every panel.</p>"
    )
    return explain + Figures().div(figure, "compare-chart")


def render_compare_page(comparison: Comparison, page_dir: Path) -> str:
    """The whole page as a string; links are relative to page_dir."""
    title = "Compare: " + " vs ".join(comparison.labels)
    notes = "".join(f"<li>{_e(n)}</li>" for n in comparison.notes)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        _banner(comparison),
        f'<p id="window-notice" class="notice">{_e(_sentence(window_line(comparison)))}.</p>',
        "<h2>Runs</h2>",
        _runs_html(comparison, page_dir),
        "<h2>Metrics on the common window</h2>",
        _metrics_html(comparison),
        '<h2 id="chart">Equity, exposure and drawdown</h2>',
        _chart_html(comparison),
        '<h2 id="yearly">Calendar-year returns</h2>',
        _yearly_html(comparison),
        '<h2 id="regimes">Per regime</h2>',
        _regimes_html(comparison),
        "<h2>Config differences</h2>",
        _config_html(comparison),
        f'<h2>Notes</h2><ul id="notes">{notes or "<li>none</li>"}</ul>',
        "</body></html>",
    ]
    return "\n".join(part for part in parts if part) + "\n"


def write_compare_page(comparison: Comparison, path: Path) -> Path:
    """Write the page atomically (`results.write_file_atomically`): never half a page."""
    path = Path(path)
    text = render_compare_page(comparison, path.parent)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    except OSError as exc:
        raise output_error(exc, f"cannot write {path}") from exc
    return path

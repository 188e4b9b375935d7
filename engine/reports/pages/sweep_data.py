"""What a sweep report shows, read from a sweep folder: sweep.parquet, summary.json,
sweep.json, the chunk files (their per-block moments give each walk-forward window), the
rerun-best run folders if any, and `benchmark.json`/`benchmark.parquet`, which
`save_benchmark` writes once per sweep (the benchmark's figures on the sweep's window: the
heatmap's colour scale is centred on its Sharpe)."""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

BENCHMARK_JSON = "benchmark.json"
BENCHMARK_PARQUET = "benchmark.parquet"
BEST_DIR = "best"


@dataclass(frozen=True)
class SweepFiles:
    folder: Path
    table: pd.DataFrame  # sweep.parquet: a row per set, without its texts (`texts`)
    summary: dict[str, Any]
    identity: dict[str, Any]  # sweep.json: spec, base, sets
    # each walk-forward window's pick (its row), its and the median set's per-bar Sharpe on
    # the test block (from the chunks' moments), when the chunks are there
    picks: list[tuple[int, float, float]] | None
    benchmark: dict[str, Any] | None
    benchmark_returns: pd.DataFrame | None  # benchmark, cash per bar
    best_runs: list[Path]  # rerun-best run folders

    @property
    def spec(self) -> dict[str, Any]:
        return dict(self.identity.get("spec") or {})

    @property
    def metric(self) -> str:
        return str(self.summary.get("metric", "sharpe"))

    def texts(self, positions: Sequence[int]) -> pd.DataFrame:
        """The ids and parameter texts of the sets at `positions` (rows of `table`), read
        from sweep.parquet for the rows the page shows: a million sets' texts were the
        largest part of the page's memory (issue 22)."""
        return read_rows(self.folder / "sweep.parquet", positions, list(TEXTS))

    def params(self) -> list[str]:
        """The swept parameters: the heatmap pair first, then the grid's order."""
        grid = list((self.spec.get("grid") or {}).keys())
        first = list(self.spec.get("heatmap") or [])
        ordered = [*first, *[p for p in grid if p not in first]]
        return [p for p in ordered if f"p.{p}" in self.table.columns]


def read_sweep_folder(folder: Path) -> SweepFiles:
    from engine.sweep.runner import read_identity
    from engine.sweep.summary import chunk_files, moment_slabs, walk_forward_picks

    folder = Path(folder)
    identity = read_identity(folder)
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    table = read_page_table(folder / "sweep.parquet", str(summary.get("metric", "sharpe")))
    picks = None
    wf = summary.get("walk_forward")
    try:  # sweep.parquet holds the sets in chunk order (workflows.sweep writes it so)
        if wf and identity["sets"] == len(table):
            slabs = moment_slabs(chunk_files(folder), int(summary["blocks"]))
            picks = walk_forward_picks(slabs, int(wf["train_blocks"]))
    except Exception:  # chunks removed or damaged: the walk-forward windows are left out
        picks = None
    bench_json = folder / BENCHMARK_JSON
    bench_parquet = folder / BENCHMARK_PARQUET
    best = folder / BEST_DIR
    runs = (
        sorted(p for p in best.iterdir() if (p / "returns.parquet").is_file())
        if best.is_dir()
        else []
    )
    return SweepFiles(
        folder=folder,
        table=table,
        summary=summary,
        identity=identity,
        picks=picks,
        benchmark=json.loads(bench_json.read_text(encoding="utf-8"))
        if bench_json.is_file()
        else None,
        benchmark_returns=_dated(pd.read_parquet(bench_parquet))
        if bench_parquet.is_file()
        else None,
        best_runs=runs,
    )


TEXTS = ("id", "params")
EVERY_SET = ("sharpe_is", "sharpe_oos")  # drawn for every set (in vs out of sample)
ROW_FIGURES = ("sharpe", "cagr", "max_drawdown", "turnover_per_year")  # the top sets' rows


def read_page_table(path: Path, metric: str) -> pd.DataFrame:
    """sweep.parquet's numbers the page draws for every set (the parameters, the metric,
    in and out of sample Sharpe); the texts and the other figures of the rows it shows are
    read by position (`rows_of`): a million sets' texts were ~0.3 GB (issue 22)."""
    import pyarrow.parquet as pq

    shown = {metric, *EVERY_SET}
    names = pq.read_schema(path).names
    columns = [c for c in names if c in shown or c.startswith("p.")]
    # one thread, no read-ahead: ~0.1 GB less held at 1M sets, the same table
    return pq.read_table(path, columns=columns, pre_buffer=False, use_threads=False).to_pandas()


def read_rows(path: Path, positions: Sequence[int], columns: list[str]) -> pd.DataFrame:
    """`columns` of the rows at `positions` of a parquet file, each once, indexed by
    position in the order first given; each row group holding some is read once."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    counts = [file.metadata.row_group(g).num_rows for g in range(file.num_row_groups)]
    starts = np.cumsum([0, *counts])
    wanted = np.asarray(list(dict.fromkeys(int(i) for i in positions)), dtype=np.int64)
    groups = np.searchsorted(starts, wanted, side="right") - 1
    parts = []
    for group in dict.fromkeys(groups.tolist()):
        rows = wanted[groups == group]
        table = file.read_row_group(group, columns=columns).to_pandas()
        parts.append(table.iloc[rows - starts[group]].set_axis(pd.Index(rows)))
    if not parts:
        return pd.DataFrame(columns=columns, index=pd.Index([], dtype=np.int64))
    return pd.concat(parts).loc[wanted]


def position_of(path: Path, column: str, value: Any) -> int | None:
    """The first row of a parquet file whose `column` is `value`, read a row group at a time."""
    import pyarrow.parquet as pq

    file = pq.ParquetFile(path)
    start = 0
    for group in range(file.num_row_groups):
        values = (
            file.read_row_group(group, columns=[column]).column(0).to_numpy(zero_copy_only=False)
        )
        hits = np.flatnonzero(values == value)
        if len(hits):
            return start + int(hits[0])
        start += len(values)
    return None


def _json(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_axis(pd.DatetimeIndex(frame.index))


# --- the benchmark, once per sweep ------------------------------------------------------


def save_benchmark(folder: Path) -> dict[str, Any] | None:
    """The base config's benchmark on the sweep's window (full, in- and out-of-sample):
    benchmark.json and benchmark.parquet; None (nothing written) without a benchmark."""
    from engine.runs.backtest import benchmark_returns, cash_returns, prepare
    from engine.runs.config import RunConfig
    from engine.sweep.runner import read_identity

    identity = read_identity(folder)
    base = RunConfig.model_validate(identity["base"])
    if base.benchmark is None:
        return None
    _, panel = prepare(base)
    index = panel.index[panel.index >= panel.window_start]
    bench = benchmark_returns(base, panel, index)
    if bench is None:
        return None
    cash = cash_returns(panel, index)
    figures: dict[str, Any] = {"symbol": str(bench.name)}
    figures.update(_summary(bench, cash))
    split = (identity.get("spec") or {}).get("split")
    if split:
        cut = pd.Timestamp(split["oos_start"])
        for suffix, part in (("_is", index < cut), ("_oos", index >= cut)):
            if part.sum() >= 2:
                sub = _summary(bench[part], cash[part])
                figures[f"sharpe{suffix}"] = sub["sharpe"]
                figures[f"cagr{suffix}"] = sub["cagr"]
    from engine.io.atomic import write_file_atomically

    frame = pd.DataFrame({"benchmark": bench, "cash": cash})
    text = json.dumps({k: _plain(v) for k, v in figures.items()}, indent=2) + "\n"
    write_file_atomically(Path(folder) / BENCHMARK_PARQUET, frame.to_parquet)
    write_file_atomically(
        Path(folder) / BENCHMARK_JSON, lambda tmp: tmp.write_text(text, encoding="utf-8")
    )
    return figures


def _summary(returns: pd.Series, cash: pd.Series) -> dict[str, float]:
    from engine.core import metrics

    ppy = metrics.periods_per_year(pd.DatetimeIndex(returns.index))
    return metrics.summary(returns, ppy, cash)


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


# --- what the page computes --------------------------------------------------------------


def surface(table: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """Mean of the metric over every other parameter: rows are y's values, columns x's
    (a sampled range's many values in equal bins, as heatmap.png has them)."""
    from engine.reports.surface import mean_grid

    return mean_grid(table, x, y, metric)


def cell_of(table: pd.DataFrame, row: Any, param: str) -> Any:
    """The surface's row or column label of one set (its value, or its value's bin)."""
    from engine.reports.surface import levels

    return levels(table[f"p.{param}"]).loc[row]


MAX_POINTS = 5000  # sets drawn one dot each; a larger sweep's in vs out chart shades cells
DENSITY_BINS = 60


def in_out_density(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sets per (in-sample Sharpe, out-of-sample Sharpe) cell, and the cells' centres."""
    both = table[["sharpe_is", "sharpe_oos"]].to_numpy(dtype=float)
    both = both[np.isfinite(both).all(axis=1)]
    counts, xe, ye = np.histogram2d(both[:, 0], both[:, 1], bins=DENSITY_BINS)
    return counts, (xe[:-1] + xe[1:]) / 2, (ye[:-1] + ye[1:]) / 2


def best_row(files: SweepFiles) -> pd.Series:
    """The best set's row with its texts (the first set with the summary's best id)."""
    best_id = (files.summary.get("best") or {}).get("id")
    found = position_of(files.folder / "sweep.parquet", "id", best_id)
    return rows_of(files, [0 if found is None else found]).iloc[0]


def rows_of(files: SweepFiles, positions: Sequence[int]) -> pd.DataFrame:
    """The rows at `positions` (each once) with the columns the page reads, in
    sweep.parquet's order: their texts and figures read by position, the rest from
    `files.table` (as `files.table.iloc[positions]` was with every column in it)."""
    import pyarrow.parquet as pq

    path = files.folder / "sweep.parquet"
    names = pq.read_schema(path).names
    read = [c for c in names if c in TEXTS or (c in ROW_FIGURES and c not in files.table)]
    rows = read_rows(path, positions, read)
    whole = pd.concat([rows, files.table.loc[rows.index]], axis=1)
    return whole[[c for c in names if c in whole.columns]]


def walk_forward_windows(files: SweepFiles, periods_per_year: float | None) -> pd.DataFrame:
    """Each walk-forward window: the set picked on the train blocks (best per-bar Sharpe),
    its Sharpe on the next block and the median set's, annualized with sqrt(bars per year)
    when that is known. Blocks are the window's bars cut into equal runs."""
    wf = files.summary.get("walk_forward")
    if files.picks is None or not wf:
        return pd.DataFrame()
    train = int(wf["train_blocks"])
    scale = math.sqrt(periods_per_year) if periods_per_year else 1.0
    blocks = int(files.summary["blocks"])
    edges = _block_edges(files, blocks)
    texts = files.texts([picked for picked, _, _ in files.picks])
    rows = []
    for test, (picked, picked_sharpe, median_sharpe) in zip(
        range(train, blocks), files.picks, strict=True
    ):
        rows.append(
            {
                "window": test - train + 1,
                "train": f"blocks {test - train + 1}-{test}",
                "test": f"block {test + 1}",
                "test_dates": edges[test] if edges else "",
                "picked": texts.at[picked, "params"],
                "picked_id": texts.at[picked, "id"],
                "picked_sharpe": picked_sharpe * scale,
                "median_sharpe": median_sharpe * scale,
                "beat": bool(picked_sharpe > median_sharpe),
            }
        )
    return pd.DataFrame(rows)


def _block_edges(files: SweepFiles, blocks: int) -> list[str]:
    """Each block's first and last date, when the benchmark's bars (the window) are known."""
    if files.benchmark_returns is None:
        return []
    index = files.benchmark_returns.index
    cuts = np.linspace(0, len(index), blocks + 1).round().astype(int)
    return [
        f"{index[a].date()} to {index[b - 1].date()}" if b > a else ""
        for a, b in itertools.pairwise(cuts)
    ]


def best_equity(files: SweepFiles) -> dict[str, pd.Series]:
    """Growth of 1 of each rerun-best folder (its name -> series)."""
    from engine.core import metrics

    curves = {}
    for run in files.best_runs:
        frame = pd.read_parquet(run / "returns.parquet")
        returns = frame["strategy"].set_axis(pd.DatetimeIndex(frame.index))
        curves[run.name] = metrics.growth_of_one(returns)
    return curves

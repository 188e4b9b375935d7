"""A finished sweep's outputs: the table, the overfitting summary and a heatmap."""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.sweep.overfit import (
    MOMENTS,
    deflated_sharpe,
    overfitting_of_slabs,
    sharpe_from_moments,
    skew_kurtosis_from_moments,
)
from engine.sweep.spec import SweepSpec


def moments_of(table: pd.DataFrame, blocks: int) -> np.ndarray:
    """(blocks, trials, 5) from the chunk tables' m<block>_<moment> columns."""
    columns = [[f"m{b:02d}_{m}" for m in MOMENTS] for b in range(blocks)]
    return np.stack([table[c].to_numpy(dtype=float) for c in columns])


def is_moment(column: str) -> bool:
    return re.match(r"m\d\d_", column) is not None


Slabs = Callable[[], Iterator[np.ndarray]]
SLAB_SETS = 100_000  # sets whose moments a summary holds at once (40 MB at 10 blocks)


def chunk_files(folder: Path) -> list[Path]:
    """A finished sweep's chunk files in order, or one DataError line if some are missing
    or they do not hold the sets sweep.json counts (read from the files' footers)."""
    import pyarrow.parquet as pq

    from engine.sweep.runner import chunk_path, read_identity

    identity = read_identity(folder)
    sets, size = identity["sets"], identity["chunk_size"]
    paths = [chunk_path(folder, i) for i in range(-(-sets // size))]
    missing = [i for i, path in enumerate(paths) if not path.exists()]
    if missing:
        raise DataError(
            f"{folder}: chunks {missing[:10]} are not done",
            "run the sweep again (it resumes) or merge the other shards",
        )
    try:
        held = sum(pq.ParquetFile(path).metadata.num_rows for path in paths)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{folder}: a chunk file is damaged ({type(exc).__name__})",
            "rerun the sweep into its folder: it recomputes damaged chunks",
        ) from None
    if held != sets:
        raise DataError(
            f"{folder}: the chunks hold {held} sets, sweep.json says {sets}",
            "rerun the sweep into a new folder",
        )
    return paths


def moment_slabs(paths: list[Path], blocks: int) -> Slabs:
    """The chunk files' (blocks, sets, 5) moments, whole chunks up to SLAB_SETS sets at a
    time, each file read for its moment columns only: a summary's memory stays flat in the
    number of sets (issue 22: at 1M sets every moment at once was gigabytes)."""
    import pyarrow.parquet as pq

    from engine.sweep.runner import read_chunk_arrays

    names = [[f"m{b:02d}_{m}" for m in MOMENTS] for b in range(blocks)]
    rows = [pq.ParquetFile(path).metadata.num_rows for path in paths]

    def slabs() -> Iterator[np.ndarray]:
        first = 0
        while first < len(paths):
            last = first + 1
            while last < len(paths) and sum(rows[first:last]) < SLAB_SETS:
                last += 1
            slab = np.empty((blocks, sum(rows[first:last]), len(MOMENTS)))
            start = 0
            for path, count in zip(paths[first:last], rows[first:last], strict=True):
                arrays = iter(read_chunk_arrays(path, [n for block in names for n in block]))
                for b, k in itertools.product(range(blocks), range(len(MOMENTS))):
                    slab[b, start : start + count, k] = next(arrays)
                start += count
            yield slab
            first = last

    return slabs


def summarize(
    table: pd.DataFrame, spec: SweepSpec, moments: np.ndarray | None = None
) -> dict[str, Any]:
    """`summary_of` a table in memory (`moments` as `moments_of` gives them, read from the
    table when not given)."""
    if moments is None:
        moments = moments_of(table, spec.blocks)
    ranked = table[spec.metric].to_numpy(dtype=float)
    return summary_of(ranked, lambda i: table.iloc[i], spec, lambda: iter([moments]))


def summary_of(
    ranked: np.ndarray, row_at: Callable[[int], pd.Series], spec: SweepSpec, slabs: Slabs
) -> dict[str, Any]:
    """Best set by the spec's metric (`ranked`, a value per set; `row_at` its row), its
    deflated Sharpe, PBO and walk-forward results, from the moments slab by slab."""
    best = int(np.nanargmax(ranked)) if np.isfinite(ranked).any() else 0
    trials = len(ranked)
    first = list(itertools.islice(slabs(), 2))
    if len(first) == 1:  # a sweep of one slab: read once for the three figures below
        slabs = functools.partial(iter, first)
    else:
        del first  # more slabs: each figure reads them one at a time
    per_period, best_total = _sharpe_per_set(slabs, best, trials)
    skew, kurtosis = skew_kurtosis_from_moments(best_total)
    defined = int((~np.isnan(per_period)).sum())  # sets with a Sharpe (a flat set has none)
    if defined > 1:
        variance = float(np.nanvar(per_period, ddof=1))
    else:
        variance = 0.0 if trials == 1 else math.nan
    dsr = deflated_sharpe(
        float(per_period[best]),
        int(best_total[0, 0]),
        float(skew[0]),
        float(kurtosis[0]),
        trials,
        variance,
    )
    row = row_at(best)
    summary: dict[str, Any] = {
        "trials": trials,
        "metric": spec.metric,
        "best": {
            "id": row["id"],
            "params": json.loads(row["params"]),
            **{
                k: _plain(row[k])
                for k in row.index
                if k
                in (
                    "cagr",
                    "sharpe",
                    "sortino",
                    "max_drawdown",
                    "calmar",
                    "sharpe_is",
                    "sharpe_oos",
                    "cagr_is",
                    "cagr_oos",
                )
            },
        },
        "deflated_sharpe": _plain(dsr),
        "deflated_sharpe_inputs": {
            "per_period_sharpe": _plain(per_period[best]),
            "bars": int(best_total[0, 0]),
            "skewness": _plain(skew[0]),
            "kurtosis": _plain(kurtosis[0]),
            "sharpe_variance_across_trials": _plain(variance),
        },
        "pbo": _plain(overfitting_of_slabs(slabs)),
        "blocks": spec.blocks,
    }
    if spec.walk_forward is not None:
        summary["walk_forward"] = walk_forward_of(slabs, spec.walk_forward.train_blocks)
    return summary


def _sharpe_per_set(slabs: Slabs, best: int, trials: int) -> tuple[np.ndarray, np.ndarray]:
    """Every set's per-period Sharpe over all blocks, and the best set's summed moments
    (a (1, 5) array: its skewness and kurtosis are the same array arithmetic as before)."""
    per_period = np.empty(trials)
    best_total = np.empty((1, len(MOMENTS)))
    start = 0
    for slab in slabs():
        total = slab.sum(axis=0)
        per_period[start : start + len(total)] = sharpe_from_moments(total)
        if start <= best < start + len(total):
            best_total = total[best - start : best - start + 1]
        start += len(total)
    return per_period, best_total


def has_best(summary: dict[str, Any]) -> bool:
    """Whether the summary's best set has the metric it was ranked by; False when no set has
    one (every set flat: the first set is shown, picked by nothing)."""
    return (summary.get("best") or {}).get(summary.get("metric")) is not None


def walk_forward(moments: np.ndarray, train_blocks: int) -> dict[str, Any]:
    """`walk_forward_of` moments held in memory."""
    return walk_forward_of(lambda: iter([moments]), train_blocks)


def walk_forward_of(slabs: Slabs, train_blocks: int) -> dict[str, Any]:
    """Pick the best set on k blocks, hold it for the next; compare with the median set."""
    windows = walk_forward_picks(slabs, train_blocks)
    if windows is None:
        return {
            "train_blocks": train_blocks,
            "windows": 0,
            "picked_mean_sharpe": None,
            "median_mean_sharpe": None,
            "picked_beat_median_share": None,
        }
    picked = [w[1] for w in windows]
    median = [w[2] for w in windows]
    return {
        "train_blocks": train_blocks,
        "windows": len(picked),
        "picked_mean_sharpe": _plain(np.mean(picked)),
        "median_mean_sharpe": _plain(np.mean(median)),
        "picked_beat_median_share": _plain(np.mean(np.array(picked) > np.array(median))),
    }


def walk_forward_picks(slabs: Slabs, train_blocks: int) -> list[tuple[int, float, float]] | None:
    """Each walk-forward window's pick (the first set with the best Sharpe on the train
    blocks), its Sharpe on the test block and the median set's there; None when a window
    has no set with a Sharpe to pick. The test blocks' Sharpe ratios are kept for the median
    (8 bytes per set and window), the moments are read a slab at a time."""
    best: list[tuple[float, int]] = []
    outs: list[np.ndarray] = []  # per slab: (windows, sets) test-block Sharpe ratios
    start = 0
    for slab in slabs():
        tests = range(train_blocks, slab.shape[0])
        best = best or [(-np.inf, -1)] * len(tests)
        for w, test in enumerate(tests):
            fitted = sharpe_from_moments(slab[test - train_blocks : test].sum(axis=0))
            if not np.isnan(fitted).all():
                i = int(np.nanargmax(fitted))
                if fitted[i] > best[w][0]:
                    best[w] = (float(fitted[i]), start + i)
        outs.append(np.array([sharpe_from_moments(slab[test]) for test in tests]))
        start += slab.shape[1]
    if any(picked < 0 for _, picked in best):  # train blocks where no set has a Sharpe (all
        return None  # flat: never traded, say): no pick there, no walk-forward to report
    picks = []
    for w, (_, picked) in enumerate(best):
        out = np.concatenate([part[w] for part in outs])  # one window's at a time
        picks.append((picked, float(out[picked]), float(np.nanmedian(out))))
    return picks


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

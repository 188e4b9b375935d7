"""A finished sweep's outputs: the table, the overfitting summary and a heatmap."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import DataError
from engine.sweep.overfit import (
    MOMENTS,
    deflated_sharpe,
    probability_of_overfitting,
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


def read_table_and_moments(folder: Path, blocks: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A finished sweep's chunk files as its table without the moment columns and the
    (blocks, sets, 5) moments, filled chunk by chunk: the 5 x blocks moment columns of every
    set never sit in one frame beside their copy (issue 22: at 1M sets that was gigabytes)."""
    from engine.sweep.runner import _read_chunk, chunk_path, read_identity

    identity = read_identity(folder)
    sets, size = identity["sets"], identity["chunk_size"]
    count = -(-sets // size)
    missing = [i for i in range(count) if not chunk_path(folder, i).exists()]
    if missing:
        raise DataError(
            f"{folder}: chunks {missing[:10]} are not done",
            "run the sweep again (it resumes) or merge the other shards",
        )
    moments = np.empty((blocks, sets, len(MOMENTS)))
    parts, start = [], 0
    for index in range(count):
        chunk = _read_chunk(chunk_path(folder, index))
        rows = slice(start, start + len(chunk))
        moments[:, rows] = moments_of(chunk, blocks)
        parts.append(chunk[[c for c in chunk.columns if not is_moment(c)]])
        start += len(chunk)
    if start != sets:
        raise DataError(
            f"{folder}: the chunks hold {start} sets, sweep.json says {sets}",
            "rerun the sweep into a new folder",
        )
    return pd.concat(parts, ignore_index=True), moments


def summarize(
    table: pd.DataFrame, spec: SweepSpec, moments: np.ndarray | None = None
) -> dict[str, Any]:
    """Best set by the spec's metric, its deflated Sharpe, PBO and walk-forward results
    (`moments` as `moments_of` gives them, read from the table when not given)."""
    if moments is None:
        moments = moments_of(table, spec.blocks)
    total = moments.sum(axis=0)
    per_period = sharpe_from_moments(total)
    skew, kurtosis = skew_kurtosis_from_moments(total)
    ranked = table[spec.metric].to_numpy(dtype=float)
    best = int(np.nanargmax(ranked)) if np.isfinite(ranked).any() else 0
    trials = len(table)
    variance = float(np.nanvar(per_period, ddof=1)) if trials > 1 else 0.0
    dsr = deflated_sharpe(
        float(per_period[best]),
        int(total[best, 0]),
        float(skew[best]),
        float(kurtosis[best]),
        trials,
        variance,
    )
    summary: dict[str, Any] = {
        "trials": trials,
        "metric": spec.metric,
        "best": {
            "id": table["id"].iloc[best],
            "params": json.loads(table["params"].iloc[best]),
            **{
                k: _plain(table[k].iloc[best])
                for k in table.columns
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
            "bars": int(total[best, 0]),
            "skewness": _plain(skew[best]),
            "kurtosis": _plain(kurtosis[best]),
            "sharpe_variance_across_trials": _plain(variance),
        },
        "pbo": _plain(probability_of_overfitting(moments)),
        "blocks": spec.blocks,
    }
    if spec.walk_forward is not None:
        summary["walk_forward"] = walk_forward(moments, spec.walk_forward.train_blocks)
    return summary


def walk_forward(moments: np.ndarray, train_blocks: int) -> dict[str, Any]:
    """Pick the best set on k blocks, hold it for the next; compare with the median set."""
    picked, median = [], []
    for test in range(train_blocks, moments.shape[0]):
        train = moments[test - train_blocks : test].sum(axis=0)
        best = int(np.nanargmax(sharpe_from_moments(train)))
        out = sharpe_from_moments(moments[test])
        picked.append(float(out[best]))
        median.append(float(np.nanmedian(out)))
    return {
        "train_blocks": train_blocks,
        "windows": len(picked),
        "picked_mean_sharpe": _plain(np.mean(picked)),
        "median_mean_sharpe": _plain(np.mean(median)),
        "picked_beat_median_share": _plain(np.mean(np.array(picked) > np.array(median))),
    }


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

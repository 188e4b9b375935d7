"""A sweep's parameter surface: the metric's mean over every other parameter, for two
parameters, on a grid that stays small at any sweep size (heatmap.png and sweep.html)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

MAX_LEVELS = 100  # a numeric parameter with more values is cut into this many equal bins


def levels(column: pd.Series) -> pd.Series:
    """The parameter's values, or for a numeric one with more than MAX_LEVELS of them (a
    sampled range), equal-width bins labelled by their bounds: a grid of at most
    MAX_LEVELS x MAX_LEVELS cells at any sweep size (issue 22)."""
    if not pd.api.types.is_numeric_dtype(column) or column.nunique() <= MAX_LEVELS:
        return column
    edges = np.linspace(column.min(), column.max(), MAX_LEVELS + 1)
    for digits in (3, 6, 12):  # the shortest labels that tell the bins apart
        names = [f"{a:.{digits}g}-{b:.{digits}g}" for a, b in itertools.pairwise(edges)]
        if len(set(names)) == len(names):
            break
    return pd.cut(column, edges, labels=names, include_lowest=True)


def mean_grid(table: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """Mean of the metric over every other parameter: rows are y's values, columns x's
    (binned as `levels` says)."""
    frame = pd.DataFrame(
        {"y": levels(table[f"p.{y}"]), "x": levels(table[f"p.{x}"]), "v": table[metric]}
    )
    grid = frame.pivot_table(index="y", columns="x", values="v", aggfunc="mean", observed=True)
    return grid.rename_axis(index=f"p.{y}", columns=f"p.{x}")

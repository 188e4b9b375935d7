"""A sweep's parameter surface: the metric's mean over every other parameter, for two
parameters, on a grid that stays small at any sweep size (heatmap.png and sweep.html)."""

from __future__ import annotations

import pandas as pd

MAX_LEVELS = 100  # a numeric parameter with more values is cut into this many equal bins


def levels(column: pd.Series) -> pd.Series:
    """The parameter's values, or for a numeric one with more than MAX_LEVELS of them (a
    sampled range), equal-width bins labelled by their bounds: a grid of at most
    MAX_LEVELS x MAX_LEVELS cells at any sweep size (issue 22)."""
    if not pd.api.types.is_numeric_dtype(column) or column.nunique() <= MAX_LEVELS:
        return column
    binned = pd.cut(column, MAX_LEVELS)
    names = [f"{b.left:.4g}..{b.right:.4g}" for b in binned.cat.categories]
    return binned.cat.rename_categories(names)


def mean_grid(table: pd.DataFrame, x: str, y: str, metric: str) -> pd.DataFrame:
    """Mean of the metric over every other parameter: rows are y's values, columns x's
    (binned as `levels` says)."""
    frame = pd.DataFrame(
        {"y": levels(table[f"p.{y}"]), "x": levels(table[f"p.{x}"]), "v": table[metric]}
    )
    grid = frame.pivot_table(index="y", columns="x", values="v", aggfunc="mean", observed=True)
    return grid.rename_axis(index=f"p.{y}", columns=f"p.{x}")

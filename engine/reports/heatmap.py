"""heatmap.png of a sweep: the metric over two parameters (mean over every other one)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from engine.reports.style import DIVERGING, PNG_DPI
from engine.reports.surface import mean_grid

MAX_LABELLED = 20  # columns or rows whose cells still show their number (more: colours only)
MAX_TICKS = 12  # labels per axis; more are thinned to every k-th


def write_heatmap(table: pd.DataFrame, params: tuple[str, str], metric: str, path: Path) -> Path:
    """Mean of the metric over every other parameter, for two parameters."""
    from matplotlib.figure import Figure

    from engine.reports.tearsheet import configure_plotting  # matplotlib only when drawing

    configure_plotting()
    grid = mean_grid(table, params[0], params[1], metric)
    values = grid.to_numpy(dtype=float)
    rows, cols = grid.shape
    # a cell per value up to ~13 x 16, then the same page size with smaller cells
    size = (min(1.2 * cols, 16) + 3, min(0.6 * rows, 10) + 2.5)
    fig = Figure(figsize=size, dpi=PNG_DPI, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(values, cmap=DIVERGING, aspect="auto", origin="lower")
    for axis, labels, count in (
        (ax.set_xticks, grid.columns, cols),
        (ax.set_yticks, grid.index, rows),
    ):
        step = -(-count // MAX_TICKS)
        shown = range(0, count, step)
        axis(shown, [_label(labels[i]) for i in shown])
    ax.set_xlabel(params[0])
    ax.set_ylabel(params[1])
    if max(rows, cols) <= MAX_LABELLED:
        for (row, col), value in np.ndenumerate(values):
            if math.isfinite(value):
                ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label=metric)
    fig.suptitle(f"{metric} by {params[0]} and {params[1]} (mean over other parameters)")
    fig.savefig(path, format="png", metadata={"Software": None})
    return path


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)

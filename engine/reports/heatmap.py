"""heatmap.png of a sweep: the metric over two parameters (mean over every other one)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from engine.reports.style import DIVERGING, PNG_DPI


def write_heatmap(table: pd.DataFrame, params: tuple[str, str], metric: str, path: Path) -> Path:
    """Mean of the metric over every other parameter, for two parameters."""
    from matplotlib.figure import Figure

    from engine.reports.tearsheet import configure_plotting  # matplotlib only when drawing

    configure_plotting()
    x, y = (f"p.{p}" for p in params)
    grid = table.pivot_table(index=y, columns=x, values=metric, aggfunc="mean")
    size = (1.2 * grid.shape[1] + 3, 0.6 * grid.shape[0] + 2.5)
    fig = Figure(figsize=size, dpi=PNG_DPI, layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(grid.to_numpy(dtype=float), cmap=DIVERGING, aspect="auto", origin="lower")
    ax.set_xticks(
        range(grid.shape[1]), [f"{v:g}" if isinstance(v, float) else str(v) for v in grid.columns]
    )
    ax.set_yticks(
        range(grid.shape[0]), [f"{v:g}" if isinstance(v, float) else str(v) for v in grid.index]
    )
    ax.set_xlabel(params[0])
    ax.set_ylabel(params[1])
    for (row, col), value in np.ndenumerate(grid.to_numpy(dtype=float)):
        if math.isfinite(value):
            ax.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label=metric)
    fig.suptitle(f"{metric} by {params[0]} and {params[1]} (mean over other parameters)")
    fig.savefig(path, format="png", metadata={"Software": None})
    return path

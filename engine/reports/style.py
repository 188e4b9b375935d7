"""One look for every chart: colours, fonts, plotly layout defaults, the matplotlib PNG style.

The run, sweep, compare and scenario pages, the tearsheet PNG and heatmap.png all take their
colours and fonts from here, so a run's strategy line is the same blue on every page. The
strategy/benchmark/drawdown colours are quantstats' own, so our PNGs and the quantstats
tearsheet they sit beside look like one report. matplotlib is imported only when a font is
resolved, so the plotly pages do not pay for it.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache
from pathlib import Path
from typing import Any

# --- colours ----------------------------------------------------------------------------

STRATEGY_COLOR = "#348dc1"  # quantstats' strategy blue
BENCHMARK_COLOR = "#808080"
DRAWDOWN_COLOR = "#af4b64"  # quantstats' drawdown red
CASH_COLOR = "#c7c7c7"  # cash in weight charts: light, so positions stand out
# One colour per run or asset, in order; no grey, so none is mistaken for the benchmark.
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)
# Background bands / markers, one per regime (pale enough to sit under the lines).
REGIME_COLORS = ("#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#edc948", "#76b7b2", "#ff9da7")
REGIME_LINE_COLOR = "#999999"  # a regime's start, drawn as a thin vertical line
MUTED_TEXT_COLOR = "#666666"
GRID_COLOR = "#dddddd"
# Red below the centre, blue above; a name both plotly and matplotlib know.
DIVERGING = "RdBu"


def palette_color(i: int) -> str:
    """The i-th run's or asset's colour, cycling through the palette."""
    return PALETTE[i % len(PALETTE)]


# --- fonts ------------------------------------------------------------------------------

PREFERRED_FONT = "Liberation Sans"  # metric-compatible with Arial (Debian: fonts-liberation)
FALLBACK_FONT = "DejaVu Sans"  # bundled with matplotlib, so it always exists
CSS_FONT_STACK = '"Liberation Sans",Arial,sans-serif'  # the same choice, for HTML text
_FONT_FILE_PREFIX = {PREFERRED_FONT: "LiberationSans-"}


def choose_font_family(available: Collection[str]) -> str:
    """Prefer Liberation Sans: it has Arial's metrics, so quantstats' layout holds."""
    return PREFERRED_FONT if PREFERRED_FONT in available else FALLBACK_FONT


def _installed_families() -> set[str]:
    """Families matplotlib knows, read from its font list (findfont would log warnings)."""
    from matplotlib import font_manager

    return {entry.name for entry in font_manager.fontManager.ttflist}


def _register_system_font(family: str) -> None:
    """Add a font installed after matplotlib cached its font list (apt after pip)."""
    from matplotlib import font_manager

    prefix = _FONT_FILE_PREFIX.get(family)
    if prefix is None:
        return
    for path in sorted(font_manager.findSystemFonts(fontext="ttf")):
        if Path(path).name.startswith(prefix):
            font_manager.fontManager.addfont(path)


@cache
def font_family() -> str:
    """The family all report text uses; resolved once per process."""
    if PREFERRED_FONT not in _installed_families():
        _register_system_font(PREFERRED_FONT)
    return choose_font_family(_installed_families())


# --- plotly (the HTML pages) ------------------------------------------------------------

PLOTLY_TEMPLATE = "plotly_white"
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "scrollZoom": False}


def lay_out_time_panels(
    fig: Any, *, height: int, hovermode: str, exposure_from_zero: bool = False
) -> None:
    """The run page's and compare page's three panels on one date axis: growth of 1 on a
    log scale (with 1y/5y/all buttons), weights or exposure and drawdown in percent.
    `exposure_from_zero` keeps zero on the middle axis, so a fully invested run's 100%
    (+-1e-16) does not autoscale into float noise."""
    fig.update_yaxes(type="log", row=1, col=1)
    middle = {"rangemode": "tozero"} if exposure_from_zero else {}
    fig.update_yaxes(tickformat=".0%", row=2, col=1, **middle)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_xaxes(
        rangeselector={
            "buttons": [
                {"count": 1, "label": "1y", "step": "year", "stepmode": "backward"},
                {"count": 5, "label": "5y", "step": "year", "stepmode": "backward"},
                {"step": "all", "label": "all"},
            ]
        },
        row=1,
        col=1,
    )
    fig.update_layout(
        height=height,
        margin={"l": 60, "r": 20, "t": 40, "b": 40},
        legend={"orientation": "h", "y": -0.04, "x": 0.0, "yanchor": "top"},
        hovermode=hovermode,
        template=PLOTLY_TEMPLATE,
    )


# --- matplotlib (the PNGs) --------------------------------------------------------------

# One fixed look for the PNGs, whatever seaborn/quantstats did to the global rcParams.
PNG_STYLE = {
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.color": GRID_COLOR,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.4,
}
PNG_DPI = 100

"""The compare page's interactive chart: every run on one shared date axis.

Three panels, as on the run page: growth of 1 on a log scale (each run and each distinct
benchmark), gross exposure (the share of wealth in risky positions, CASH excluded) and
drawdown. A run keeps one colour in all three and one legend entry: clicking it hides or
shows that run everywhere. Zoom, hover and the 1y/5y/all buttons come from plotly.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.core import metrics
from engine.reports.pages.common import esc
from engine.reports.style import BENCHMARK_COLOR, lay_out_time_panels, palette_color

BENCHMARK_DASHES = ("dash", "dot", "dashdot", "longdash")


def compare_figure(
    returns: pd.DataFrame,
    exposure: Mapping[str, pd.Series],
    benchmarks: pd.DataFrame,
) -> go.Figure:
    """returns: each run's strategy returns in the window (a column per run label, NaN off
    its calendar); exposure: each run's gross exposure per bar; benchmarks: a column each."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.55, 0.2, 0.25],
        subplot_titles=("Growth of 1 (log scale)", "Gross exposure (end of bar)", "Drawdown"),
    )
    for i, name in enumerate(benchmarks.columns):
        bars = benchmarks[name].dropna()
        fig.add_trace(
            go.Scatter(
                x=bars.index,
                y=(1.0 + bars).cumprod(),
                name=esc(name),
                line={"color": BENCHMARK_COLOR, "width": 1.2, "dash": _dash(i)},
                hovertemplate=_hover(".3f"),
            ),
            row=1,
            col=1,
        )
    for i, label in enumerate(returns.columns):
        bars = returns[label].dropna()
        style = {"color": palette_color(i), "width": 1.6}
        group = {"legendgroup": esc(label), "name": esc(label)}
        fig.add_trace(
            go.Scatter(
                x=bars.index,
                y=(1.0 + bars).cumprod(),
                line=style,
                **group,
                hovertemplate=_hover(".3f"),
            ),
            row=1,
            col=1,
        )
        gross = exposure[label]
        fig.add_trace(
            go.Scatter(
                x=gross.index,
                y=gross,
                line={**style, "width": 1.1},
                showlegend=False,
                **group,
                hovertemplate=_hover(".1%"),
            ),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=bars.index,
                y=metrics.drawdown(bars),
                line={**style, "width": 1.1},
                showlegend=False,
                **group,
                hovertemplate=_hover(".1%"),
            ),
            row=3,
            col=1,
        )
    lay_out_time_panels(fig, height=900, hovermode="x unified", exposure_from_zero=True)
    return fig


def _dash(i: int) -> str:
    return BENCHMARK_DASHES[i % len(BENCHMARK_DASHES)]


def _hover(number: str) -> str:
    """Date and value; plotly adds the trace's (escaped) name beside it."""
    return "%{x|%Y-%m-%d}: %{y:" + number + "}"

"""equity.png (engine.reports.tearsheet): log scale and the decisions marked (issue 20)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from engine.reports import tearsheet as report


def _btc_like() -> tuple[pd.Series, pd.Series, pd.DatetimeIndex]:
    """A 130x run over ~4 years with three decisions, one before the window."""
    index = pd.date_range("2020-01-01", periods=1500, freq="D")
    daily = 130.0 ** (1.0 / len(index)) - 1.0
    wiggle = 0.02 * np.sin(np.arange(len(index)) / 20.0)
    strategy = pd.Series(daily + wiggle, index=index)
    benchmark = pd.Series(daily / 2.0, index=index, name="SPY")
    decisions = pd.DatetimeIndex(["2019-06-01", "2020-03-16", "2021-05-15", "2023-01-02"])
    return strategy, benchmark, decisions


def test_equity_png_linear_without_decisions_is_log_with_decisions() -> None:
    """It was linear (a 130x run flattened everything before the last year) with no
    decision shown: the top panel is now log scale with each in-window decision marked on the
    strategy's own curve."""
    strategy, benchmark, decisions = _btc_like()
    ax = Figure().subplots()
    report._plot_equity(ax, strategy, benchmark, "SPY", decisions)
    assert ax.get_yscale() == "log"
    (marks,) = [line for line in ax.get_lines() if line.get_label() == "decision"]
    wealth = (1.0 + strategy).cumprod()
    inside = decisions[decisions >= strategy.index[0]]
    assert list(pd.DatetimeIndex(marks.get_xdata())) == list(inside)
    assert np.allclose(marks.get_ydata(), wealth.loc[inside].to_numpy())


def test_equity_png_marks_change_the_picture_and_stay_reproducible() -> None:
    strategy, benchmark, decisions = _btc_like()
    plain = report.equity_drawdown_png(strategy, benchmark, title="t")
    marked = report.equity_drawdown_png(strategy, benchmark, title="t", decisions=decisions)
    again = report.equity_drawdown_png(strategy, benchmark, title="t", decisions=decisions)
    assert marked != plain and marked == again

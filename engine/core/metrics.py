"""Performance metrics as small pure functions, annualized from the calendar of each window.

CAGR compounds over calendar time (`years`: days from the first bar's open / 365.25), never
over a bar count. Volatility, Sharpe and Sortino scale per-bar figures by the square root of
`periods_per_year(index)`: the bars the window actually has per calendar year (~365.25 on a
7-day crypto calendar, ~252 on an exchange calendar, in between for a window that is
weekday-only for years and 7-day later). Each figure uses the periods of its own window (a
run, a regime, a compare window, a sweep split), and the run's value is handed to quantstats,
whose CAGR (bars / periods years) then equals the calendar CAGR.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

CASH = (
    "CASH"  # the weights' cash instrument (engine.core.simulate.CASH; kept here free of vectorbt)
)
IN_MARKET = 1e-9  # gross risky weight above which a bar counts as in the market


def gross_exposure(weights: pd.DataFrame) -> pd.Series:
    """Each bar's end: the sum of |weight| of everything but the cash instrument (shorts count)."""
    return weights.drop(columns=[CASH]).abs().sum(axis=1)


def time_in_market(exposure: pd.Series) -> float:
    """Share of bars ending with any risky exposure."""
    return float((exposure > IN_MARKET).mean())


def years(returns: pd.Series | pd.DatetimeIndex) -> float:
    """Calendar span in years, counted from the first bar's open: one bar spacing before it.

    The spacing is the calendar's shortest gap between bars (a day on any daily calendar), not
    the first gap: a window that opens on a Friday before a weekend would otherwise count the
    weekend before its first bar too.
    """
    index = pd.DatetimeIndex(returns if isinstance(returns, pd.DatetimeIndex) else returns.index)
    if len(index) == 0:
        return 0.0
    step = pd.Timedelta(np.diff(index.asi8).min(), unit=index.unit) if len(index) > 1 else None
    step = pd.Timedelta(days=1) if step is None else step
    return float((index[-1] - index[0] + step).days / 365.25)


def periods_per_year(index: pd.DatetimeIndex) -> float:
    """Return bars per calendar year in this window: len(index) / years(index).

    Counting the window's own bars makes a mixed calendar (weekdays, then every day once BTC
    trades) annualize with its true average spacing instead of either calendar's constant.
    Fewer than two bars have no spacing to measure: NaN (so are volatility and Sharpe there).
    """
    index = pd.DatetimeIndex(index)
    if len(index) < 2:
        return float("nan")
    return float(len(index) / years(index))


def growth_of_one(returns: pd.Series) -> pd.Series:
    """Wealth after each bar of 1 invested at the start: the one compounding every chart
    and table draws (equity curves, drawdowns, the gallery)."""
    return (1.0 + returns.astype(float)).cumprod()


def drawdown(returns: pd.Series) -> pd.Series:
    """Each bar's fall from the highest wealth so far, the start (1) counting as a high: the
    series whose minimum is `max_drawdown` (the kernel walks the same definition)."""
    wealth = growth_of_one(returns)
    peak = np.maximum(wealth.cummax(), 1.0)
    return wealth / peak - 1.0


def summary(
    returns: pd.Series,
    periods_per_year: float,
    rf_per_period: pd.Series | None = None,
) -> dict[str, float]:
    """The headline numbers of one return series: `summary_arrays` of a one-row array, so a
    run, a regime and each of a sweep's thousands of sets share one definition of each figure.
    `rf_per_period` is the per-bar risk-free return (aligned on the returns' dates)."""
    row = np.ascontiguousarray(returns.to_numpy(dtype="float64")[np.newaxis, :])
    figures = summary_arrays(
        row, _rf(rf_per_period, returns.index), years(returns), periods_per_year
    )
    return {name: float(values[0]) for name, values in figures.items()}


def total_return(returns: pd.Series) -> float:
    return summary(returns, math.nan)["total_return"]


def cagr(returns: pd.Series) -> float:
    """Compounded over calendar time (`years`); -1 once wealth is wiped out."""
    return summary(returns, math.nan)["cagr"]


def volatility(returns: pd.Series, periods_per_year: float) -> float:
    return summary(returns, periods_per_year)["volatility"]


def sharpe(
    returns: pd.Series, periods_per_year: float, rf_per_period: pd.Series | None = None
) -> float:
    return summary(returns, periods_per_year, rf_per_period)["sharpe"]


def sortino(
    returns: pd.Series, periods_per_year: float, rf_per_period: pd.Series | None = None
) -> float:
    return summary(returns, periods_per_year, rf_per_period)["sortino"]


def max_drawdown(returns: pd.Series) -> float:
    return summary(returns, math.nan)["max_drawdown"]


def calmar(returns: pd.Series) -> float:
    return summary(returns, math.nan)["calmar"]


def _rf(rf_per_period: pd.Series | None, index: pd.Index) -> np.ndarray:
    if rf_per_period is None:
        return np.zeros(len(index))
    return rf_per_period.reindex(index).to_numpy(dtype="float64")


def summary_table(
    returns: pd.DataFrame, periods_per_year: float, rf_per_period: pd.Series | None = None
) -> pd.DataFrame:
    """`summary` of every column at once (a row per column): what a sweep needs for
    thousands of runs."""
    rows = np.ascontiguousarray(returns.to_numpy(dtype="float64").T)
    rf = _rf(rf_per_period, returns.index)
    return summary_of_rows(
        rows, rf, years(pd.DatetimeIndex(returns.index)), periods_per_year, returns.columns
    )


def summary_of_rows(
    rows: np.ndarray, rf: np.ndarray, span: float, periods_per_year: float, names: pd.Index
) -> pd.DataFrame:
    """`summary_table` of runs x bars returns (a row per run), one numba pass per run; `rf`
    per bar, `span` in years (`years` of the bars)."""
    return pd.DataFrame(summary_arrays(rows, rf, span, periods_per_year), index=names)


def summary_arrays(
    rows: np.ndarray, rf: np.ndarray, span: float, periods_per_year: float
) -> dict[str, np.ndarray]:
    """`summary_of_rows` as arrays by name (a sweep's chunk takes a few columns of it): the
    one implementation of every headline figure, over `metrics_kernel.summary_nb`'s single
    pass per row (growth, std, mean and std of excess returns, downside deviation, worst
    drawdown). CAGR compounds over `span` calendar years; -1 once wealth is wiped out."""
    from engine.core.metrics_kernel import summary_nb

    growth, vol, mean, std, downside, worst = summary_nb(rows, np.asarray(rf, dtype="float64"))
    n_bars = rows.shape[1]
    root = math.sqrt(periods_per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        cagr_ = np.where(growth > 0, growth ** (1.0 / span) - 1.0 if span > 0 else np.nan, -1.0)
        sharpe_ = np.where((std > 0) & (n_bars >= 2), mean / std * root, np.nan)
        sortino_ = np.where(downside > 0, mean / downside * root, np.nan)
        calmar_ = np.where(worst < 0, cagr_ / np.abs(worst), np.nan)
    return {
        "total_return": growth - 1.0,
        "cagr": cagr_,
        "volatility": vol * root,
        "sharpe": sharpe_,
        "sortino": sortino_,
        "max_drawdown": worst,
        "calmar": calmar_,
        "final_wealth": growth,
    }

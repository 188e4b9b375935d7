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


def total_return(returns: pd.Series) -> float:
    return float(np.prod(1.0 + returns.to_numpy()) - 1.0) if len(returns) else 0.0


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


def cagr(returns: pd.Series) -> float:
    span = years(returns)
    growth = 1.0 + total_return(returns)
    if span <= 0 or growth <= 0:
        return float("nan") if growth > 0 else -1.0
    return float(growth ** (1.0 / span) - 1.0)


def volatility(returns: pd.Series, periods_per_year: float) -> float:
    if len(returns) < 2:
        return float("nan")
    return float(returns.std(ddof=1) * math.sqrt(periods_per_year))


def sharpe(
    returns: pd.Series, periods_per_year: float, rf_per_period: pd.Series | None = None
) -> float:
    excess = returns if rf_per_period is None else returns - rf_per_period.reindex(returns.index)
    std = excess.std(ddof=1)
    if len(excess) < 2 or not std > 0:
        return float("nan")
    return float(excess.mean() / std * math.sqrt(periods_per_year))


def sortino(
    returns: pd.Series, periods_per_year: float, rf_per_period: pd.Series | None = None
) -> float:
    excess = returns if rf_per_period is None else returns - rf_per_period.reindex(returns.index)
    downside = np.sqrt(np.mean(np.minimum(excess.to_numpy(), 0.0) ** 2)) if len(excess) else 0.0
    if not downside > 0:
        return float("nan")
    return float(excess.mean() / downside * math.sqrt(periods_per_year))


def drawdown(returns: pd.Series) -> pd.Series:
    wealth = (1.0 + returns).cumprod()
    peak = np.maximum(wealth.cummax(), 1.0)
    return wealth / peak - 1.0


def max_drawdown(returns: pd.Series) -> float:
    return float(drawdown(returns).min()) if len(returns) else 0.0


def calmar(returns: pd.Series) -> float:
    worst = max_drawdown(returns)
    return float(cagr(returns) / abs(worst)) if worst < 0 else float("nan")


def summary(
    returns: pd.Series,
    periods_per_year: float,
    rf_per_period: pd.Series | None = None,
) -> dict[str, float]:
    """The headline numbers of one return series."""
    return {
        "total_return": total_return(returns),
        "cagr": cagr(returns),
        "volatility": volatility(returns, periods_per_year),
        "sharpe": sharpe(returns, periods_per_year, rf_per_period),
        "sortino": sortino(returns, periods_per_year, rf_per_period),
        "max_drawdown": max_drawdown(returns),
        "calmar": calmar(returns),
        "final_wealth": 1.0 + total_return(returns),
    }


def summary_table(
    returns: pd.DataFrame, periods_per_year: float, rf_per_period: pd.Series | None = None
) -> pd.DataFrame:
    """`summary` of every column at once (a row per column): what a sweep needs for
    thousands of runs. Agrees with `summary` column by column (to rounding; tested)."""
    rows = np.ascontiguousarray(returns.to_numpy(dtype="float64").T)
    if rf_per_period is None:
        rf = np.zeros(rows.shape[1])
    else:
        rf = rf_per_period.reindex(returns.index).to_numpy(dtype="float64")
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
    """`summary_of_rows` as arrays by name (a sweep's chunk takes a few columns of it)."""
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

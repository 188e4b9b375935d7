"""Performance metrics as small pure functions, annualized from the run's calendar.

`periods_per_year` is 365 on a calendar with weekend bars (crypto) and 252 otherwise, and the
same value is handed to quantstats, so the tearsheet and stats.json agree.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def total_return(returns: pd.Series) -> float:
    return float(np.prod(1.0 + returns.to_numpy()) - 1.0) if len(returns) else 0.0


def years(returns: pd.Series) -> float:
    """Calendar span in years, counted from the day before the first bar (its open)."""
    if len(returns) == 0:
        return 0.0
    index = pd.DatetimeIndex(returns.index)
    step = index[1] - index[0] if len(index) > 1 else pd.Timedelta(days=1)
    return float((index[-1] - index[0] + step).days / 365.25)


def cagr(returns: pd.Series) -> float:
    span = years(returns)
    growth = 1.0 + total_return(returns)
    if span <= 0 or growth <= 0:
        return float("nan") if growth > 0 else -1.0
    return float(growth ** (1.0 / span) - 1.0)


def volatility(returns: pd.Series, periods_per_year: int) -> float:
    if len(returns) < 2:
        return float("nan")
    return float(returns.std(ddof=1) * math.sqrt(periods_per_year))


def sharpe(
    returns: pd.Series, periods_per_year: int, rf_per_period: pd.Series | None = None
) -> float:
    excess = returns if rf_per_period is None else returns - rf_per_period.reindex(returns.index)
    std = excess.std(ddof=1)
    if len(excess) < 2 or not std > 0:
        return float("nan")
    return float(excess.mean() / std * math.sqrt(periods_per_year))


def sortino(
    returns: pd.Series, periods_per_year: int, rf_per_period: pd.Series | None = None
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
    periods_per_year: int,
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

"""`engine.core.metrics` for thousands of return series at once, one pass per series in numba.

A sweep reduces every chunk of sets to its headline numbers before the next chunk starts;
with numpy that is a dozen full passes over a bars x sets array per statistic family, which
cost more than simulating the sets. These kernels walk each set's returns once (twice for the
variances), skipping NaN as numpy's nan-functions do. They are the only implementation of the
headline figures: `engine.core.metrics.summary` of one series is this of a one-row array, and
`tests/test_metrics.py` holds both to textbook pandas formulas.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def summary_nb(returns, rf):
    """Per row of `returns` (runs x bars) and a per-bar risk-free rate `rf` (bars):
    growth, std of returns, mean and std of excess returns (ddof=1, NaN skipped), downside
    deviation of excess returns (NaN counted as bars, as np.mean does), worst drawdown."""
    runs, bars = returns.shape
    growth = np.empty(runs)
    vol = np.full(runs, np.nan)
    mean = np.full(runs, np.nan)
    std = np.full(runs, np.nan)
    downside = np.empty(runs)
    worst = np.zeros(runs)
    for s in range(runs):
        r = returns[s]
        wealth, peak, low = 1.0, 1.0, 0.0
        n, n_excess, total, total_excess, down = 0, 0, 0.0, 0.0, 0.0
        for t in range(bars):
            x = r[t]
            e = x - rf[t]
            wealth *= 1.0 + x
            if wealth > peak:
                peak = wealth
            drawdown = wealth / peak - 1.0
            if drawdown < low or np.isnan(drawdown):
                low = drawdown
            if not np.isnan(x):
                n += 1
                total += x
            if not np.isnan(e):
                n_excess += 1
                total_excess += e
            down += min(e, 0.0) ** 2
        growth[s] = wealth
        worst[s] = low if bars else 0.0
        downside[s] = np.sqrt(down / bars) if bars else np.nan
        mean_x = total / n if n else np.nan
        mean_e = total_excess / n_excess if n_excess else np.nan
        mean[s] = mean_e
        squares_x, squares_e = 0.0, 0.0
        for t in range(bars):
            x = r[t]
            e = x - rf[t]
            if not np.isnan(x):
                squares_x += (x - mean_x) ** 2
            if not np.isnan(e):
                squares_e += (e - mean_e) ** 2
        if n >= 2:
            vol[s] = np.sqrt(squares_x / (n - 1))
        if n_excess >= 2:
            std[s] = np.sqrt(squares_e / (n_excess - 1))
    return growth, vol, mean, std, downside, worst


@njit(cache=True)
def block_moments_nb(returns, rf, edges, out):
    """out[b, s, :] = (bars, sum e, sum e^2, sum e^3, sum e^4) of the excess returns
    e = returns[s] - rf (runs x bars, and bars) over bars edges[b]:edges[b + 1]."""
    runs = returns.shape[0]
    for b in range(len(edges) - 1):
        lo, hi = edges[b], edges[b + 1]
        for s in range(runs):
            s1, s2, s3, s4 = 0.0, 0.0, 0.0, 0.0
            for t in range(lo, hi):
                e = returns[s, t] - rf[t]
                e2 = e * e
                s1 += e
                s2 += e2
                s3 += e2 * e
                s4 += e2 * e2
            out[b, s, 0] = hi - lo
            out[b, s, 1] = s1
            out[b, s, 2] = s2
            out[b, s, 3] = s3
            out[b, s, 4] = s4

"""The limit: a minimal numba kernel doing the engine's target-weight arithmetic on arrays.

Same rules as `benchmarks.reference` (and so as vectorbt's target-percent orders): CASH and
short-leg instruments with their own price paths, orders only at fill bars (sparse), sells
before buys, fees and slippage on traded notional, a buy short of cash partially filled with
all of it, positions held in units in between. Unlike `engine.simulate` it does not tile the
shared prices once per parameter set: every set reads the same price matrix, and a set's
schedule is a few rows (its fill bars), not a bars x instruments array of mostly NaN.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks.market import Market, cost_fractions
from engine.simulate import Costs, _numba_cache_dir

os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())  # before numba is imported

from numba import njit

REL_TOL = 1e-9
ABS_TOL = 1e-12


@dataclass(frozen=True)
class KernelInputs:
    close: np.ndarray  # bars x instruments (symbols, short legs, CASH), NaN where no price
    fee: np.ndarray  # per instrument
    slippage: np.ndarray  # per instrument
    fill_bar: np.ndarray  # all sets' fill rows, set after set: the bar of each
    fill_size: np.ndarray  # same rows x instruments: target percent, NaN = no order
    offsets: np.ndarray  # sets + 1: set s owns rows offsets[s]:offsets[s + 1]

    @property
    def sets(self) -> int:
        return len(self.offsets) - 1


def accrual_index(dates: pd.DatetimeIndex, rate: np.ndarray) -> np.ndarray:
    """Growth of 1 at the rate prevailing over each gap, compounded by calendar days."""
    days = np.r_[0, (dates[1:] - dates[:-1]).days].astype(np.float64)
    prior = np.r_[rate[:1], rate[:-1]]
    return np.cumprod(np.power(1.0 + prior, days / 365.0))


def prepare(market: Market, fills: Sequence[pd.DataFrame], costs: Costs) -> KernelInputs:
    """Instrument prices once for all sets, and each set's fill rows."""
    fee, slippage, borrow_rate = cost_fractions(costs)
    symbols = list(market.symbols)
    shorted = sorted({j for f in fills for j in np.flatnonzero((f[symbols].to_numpy() < 0).any(0))})
    borrow = accrual_index(market.dates, np.full(market.bars, borrow_rate))
    cash = accrual_index(market.dates, market.cash_rate)
    close = np.column_stack(
        [market.prices, market.prices[:, shorted] * borrow[:, None], cash]
    ).astype(np.float64)
    width = close.shape[1]
    costs_of = np.r_[np.full(width - 1, 1.0), 0.0]  # CASH trades free

    bars, sizes, offsets = [], [], [0]
    dates = market.dates.asi8
    for frame in fills:
        at = np.searchsorted(dates, pd.DatetimeIndex(frame.index).as_unit(market.dates.unit).asi8)
        same = list(frame.columns) == symbols
        rows = (frame if same else frame[symbols]).to_numpy(dtype=np.float64)
        block = np.column_stack(
            [np.maximum(rows, 0.0), np.minimum(rows[:, shorted], 0.0), 1.0 - rows.sum(axis=1)]
        )
        if 0 not in at:  # until the first fill the money sits in CASH
            start = np.full((1, width), np.nan)
            start[0, -1] = 1.0
            at, block = np.r_[0, at], np.vstack([start, block])
        block[np.isnan(close[at])] = np.nan  # no order where there is no price
        bars.append(at)
        sizes.append(block)
        offsets.append(offsets[-1] + len(at))
    return KernelInputs(
        close=np.ascontiguousarray(close),
        fee=costs_of * fee,
        slippage=costs_of * slippage,
        fill_bar=np.concatenate(bars).astype(np.int64) if bars else np.zeros(0, np.int64),
        fill_size=np.vstack(sizes) if sizes else np.zeros((0, width)),
        offsets=np.asarray(offsets, dtype=np.int64),
    )


def run(inputs: KernelInputs) -> np.ndarray:
    """Wealth, bars x sets (1.0 before the first fill)."""
    out = np.empty((inputs.close.shape[0], inputs.sets))
    simulate_sets(
        inputs.close,
        inputs.fee,
        inputs.slippage,
        inputs.fill_bar,
        inputs.fill_size,
        inputs.offsets,
        out,
    )
    return out


@njit(cache=True)
def _is_close(a, b):
    if np.isnan(a) or np.isnan(b) or np.isinf(a) or np.isinf(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


@njit(cache=True)
def _add(a, b):
    """a + b, snapped to 0 when the two (nearly) cancel."""
    if np.sign(a) != np.sign(b):
        if _is_close(abs(a), abs(b)):
            return 0.0
    elif _is_close(a + b, 0.0):
        return 0.0
    return a + b


@njit(cache=True)
def _snap(x):
    return 0.0 if _is_close(x, 0.0) else x


@njit(cache=True)
def simulate_sets(close, fee, slippage, fill_bar, fill_size, offsets, out):
    """Every set over every bar; orders only on a set's fill rows."""
    bars, width = close.shape
    units = np.zeros(width)
    mark = np.empty(width)
    for s in range(len(offsets) - 1):
        units[:] = 0.0
        mark[:] = np.nan
        cash = 1.0
        row, last = offsets[s], offsets[s + 1]
        for t in range(bars):
            for k in range(width):
                if not np.isnan(close[t, k]):
                    mark[k] = close[t, k]
            if row < last and fill_bar[row] == t:
                cash = _rebalance(cash, units, mark, fill_size[row], fee, slippage)
                row += 1
            else:
                cash = _snap(cash)
                for k in range(width):
                    units[k] = _snap(units[k])
            value = cash
            for k in range(width):
                if units[k] != 0:
                    value += units[k] * mark[k]
            out[t, s] = value


@njit(cache=True)
def _rebalance(cash, units, mark, sizes, fee, slippage):
    """One fill bar: every instrument to its target percent, sells first; returns the cash."""
    width = len(units)
    value = cash
    for k in range(width):
        if units[k] != 0:
            value += units[k] * mark[k]
    approx = np.empty(width)
    order = np.empty(width, dtype=np.int64)
    for k in range(width):
        approx[k] = sizes[k] * value - units[k] * mark[k]
        order[k] = k
    for j in range(1, width):  # insertion sort, ascending order value, NaN last
        key, idx = approx[j], order[j]
        i = j - 1
        while i >= 0 and (approx[i] > key or np.isnan(approx[i])):
            approx[i + 1] = approx[i]
            order[i + 1] = order[i]
            i -= 1
        approx[i + 1] = key
        order[i + 1] = idx
    v = _snap(value)
    for j in range(width):
        k = order[j]
        cash = _snap(cash)
        held = _snap(units[k])
        units[k] = held
        price = _snap(mark[k])
        size = sizes[k]
        if np.isnan(size) or np.isnan(price) or np.isnan(v) or v <= 0:
            continue
        wanted = size * v / price - held
        if wanted > 0:
            fill_price = price * (1 + slippage[k])
            if cash == 0:
                continue
            notional = wanted * fill_price
            total = notional + notional * fee[k]
            if _is_close(total, cash) or total < cash:
                bought, spent = wanted, total
            else:  # short of cash: all of it, fee included
                affordable = _add(cash, -0.0) / (1 + fee[k])
                if affordable <= 0:
                    continue
                bought, spent = affordable / fill_price, cash
            if _is_close(wanted, 0.0):
                continue
            cash = _add(cash, -spent)
            units[k] = _add(held, bought)
        else:
            sold = -wanted
            if _is_close(sold, 0.0):
                continue
            proceeds = sold * (price * (1 - slippage[k]))
            received = _add(proceeds, -(proceeds * fee[k]))
            if received < 0:
                continue
            cash = cash + received
            units[k] = _add(held, -sold)
    return cash

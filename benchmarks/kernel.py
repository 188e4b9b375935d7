"""The limit: a minimal numba kernel doing the engine's target-weight arithmetic on arrays.

Same rules as `benchmarks.reference` (and so as vectorbt's target-percent orders): CASH and
short-leg instruments with their own price paths, orders only at fill bars (sparse), sells
before buys, fees and slippage on traded notional, a buy short of cash partially filled with
all of it, positions held in units in between. Like `engine.core.simulate_kernel` every set reads
one shared price matrix and brings only its fill rows; unlike it, the arithmetic is written
out here (no vectorbt order and state records per order, no second pass that values the
positions the way `Portfolio.value()` does, no gross exposure or turnover): the least work a
simulation of these schedules can do, so the engine's time over it is its overhead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from benchmarks.market import Market, cost_fractions
from engine.core.simulate import Costs

REL_TOL = 1e-9
ABS_TOL = 1e-12


@dataclass(frozen=True)
class KernelInputs:
    close: np.ndarray  # bars x instruments (symbols, short legs, CASH), NaN where no price
    mark: np.ndarray  # close forward-filled: the last known price (NaN before the first)
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
    """Instrument prices once for all sets, and each set's fill rows, from fill schedules
    (fill date x symbol frames, as `engine.core.simulate.fill_schedule` gives them)."""
    symbols = list(market.symbols)
    dates = market.dates.asi8
    bars, weights, offsets = [], [], [0]
    for frame in fills:
        at = np.searchsorted(dates, pd.DatetimeIndex(frame.index).as_unit(market.dates.unit).asi8)
        same = list(frame.columns) == symbols
        bars.append(at.astype(np.int64))
        weights.append((frame if same else frame[symbols]).to_numpy(dtype=np.float64))
        offsets.append(offsets[-1] + len(at))
    width = len(symbols)
    return prepare_arrays(
        market,
        np.concatenate(bars) if bars else np.zeros(0, np.int64),
        np.vstack(weights) if weights else np.zeros((0, width)),
        np.asarray(offsets, dtype=np.int64),
        costs,
    )


def prepare_arrays(
    market: Market,
    fill_bar: np.ndarray,
    fill_weights: np.ndarray,
    offsets: np.ndarray,
    costs: Costs,
) -> KernelInputs:
    """Instrument prices once for all sets, and each set's target-percent rows, from fill
    rows (`fill_bar`: window positions; `fill_weights`: rows x market.symbols; set s owns
    rows offsets[s]:offsets[s + 1], as `engine.core.simulate.SetResults` holds them)."""
    fee, slippage, borrow_rate = cost_fractions(costs)
    fill_weights = np.asarray(fill_weights, dtype=np.float64)
    shorted = np.flatnonzero((fill_weights < 0).any(axis=0))
    borrow = accrual_index(market.dates, np.full(market.bars, borrow_rate))
    cash = accrual_index(market.dates, market.cash_rate)
    close = np.column_stack(
        [market.prices, market.prices[:, shorted] * borrow[:, None], cash]
    ).astype(np.float64)
    width = close.shape[1]
    costs_of = np.r_[np.full(width - 1, 1.0), 0.0]  # CASH trades free

    total = np.zeros(len(fill_weights))
    for j in range(fill_weights.shape[1]):  # summed left to right, as the engine does
        total += fill_weights[:, j]
    block = np.column_stack(
        [np.maximum(fill_weights, 0.0), np.minimum(fill_weights[:, shorted], 0.0), 1.0 - total]
    )
    at = np.asarray(fill_bar, dtype=np.int64)
    offsets = np.asarray(offsets, dtype=np.int64)
    # until a set's first fill its money sits in CASH: a start row at bar 0
    counts = np.diff(offsets)
    first = at[np.minimum(offsets[:-1], len(at) - 1)] if len(at) else np.ones(len(counts))
    needs = (counts == 0) | (first != 0)
    where = offsets[:-1][needs]
    start = np.full(width, np.nan)
    start[-1] = 1.0
    at = np.insert(at, where, 0)
    block = np.insert(block, where, start, axis=0)
    offsets = offsets + np.r_[0, np.cumsum(needs)]
    block[np.isnan(close[at])] = np.nan  # no order where there is no price
    return KernelInputs(
        close=np.ascontiguousarray(close),
        mark=np.ascontiguousarray(pd.DataFrame(close).ffill().to_numpy()),
        fee=costs_of * fee,
        slippage=costs_of * slippage,
        fill_bar=at,
        fill_size=np.ascontiguousarray(block),
        offsets=offsets.astype(np.int64),
    )


def run(inputs: KernelInputs) -> np.ndarray:
    """Wealth, bars x sets (1.0 before the first fill); a view of the set-major result."""
    out = np.empty((inputs.sets, inputs.close.shape[0]))
    simulate_sets(
        inputs.mark,
        inputs.fee,
        inputs.slippage,
        inputs.fill_bar,
        inputs.fill_size,
        inputs.offsets,
        out,
    )
    return out.T


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
def simulate_sets(mark, fee, slippage, fill_bar, fill_size, offsets, out):
    """Every set over every bar (out: sets x bars); orders only on a set's fill rows.

    Balances snap to 0 on the first bar after an order bar only: snapping is idempotent and
    nothing changes them until the next order.
    """
    bars, width = mark.shape
    units = np.zeros(width)
    for s in range(len(offsets) - 1):
        units[:] = 0.0
        cash = 1.0
        row, last = offsets[s], offsets[s + 1]
        ordered = False  # was the previous bar an order bar
        for t in range(bars):
            if row < last and fill_bar[row] == t:
                cash = _rebalance(cash, units, mark[t], fill_size[row], fee, slippage)
                row += 1
                ordered = True
            elif ordered or t == 0:
                cash = _snap(cash)
                for k in range(width):
                    units[k] = _snap(units[k])
                ordered = False
            value = cash
            for k in range(width):
                if units[k] != 0:
                    value += units[k] * mark[t, k]
            out[s, t] = value


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

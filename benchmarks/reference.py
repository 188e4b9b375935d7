"""The event-loop reference: one run simulated bar by bar in plain Python.

What a hand-written backtester does with a target-weight schedule, written to reproduce the
engine's arithmetic exactly (so the speed-up compares the same work):

- instruments: each traded symbol, a `~short` leg for a symbol the schedule ever shorts
  (its price times a borrow index), and CASH, whose price accrues the cash rate
  (price_t = price_{t-1} * (1 + r_{t-1}) ** (days / 365)); idle money is a long CASH position;
- at a fill bar every instrument gets a target percent of wealth (CASH takes 1 - sum of the
  weights; before the first fill all the money sits in CASH);
- orders are sized as vectorbt's `size_type="targetpercent"` does (vectorbt 1.2.0,
  `portfolio/nb.py::execute_order_nb`): units = target * wealth / price - units held, where
  wealth is valued once per bar, before any order;
- sells before buys, as `call_seq="auto"` orders them: ascending approximate order value
  (`approx_order_value_nb`), a stable insertion sort with NaN (no order) last;
- a sell receives units * price * (1 - slippage), less the fee on that amount
  (`sell_nb`); a buy pays units * price * (1 + slippage) * (1 + fee) and, when the money
  left is short of that, is partially filled with all of it (`buy_nb`, `allow_partial=True`):
  units = cash / (1 + fee) / (price * (1 + slippage));
- vectorbt's tolerances (relative 1e-9, absolute 1e-12: `utils/math_.py`) decide "enough cash",
  "size is zero" and snap near-zero cash and positions to 0;
- in between fills positions are held in units, so weights drift with prices.

Nothing here is vectorized: that is the point of a reference.
"""

from __future__ import annotations

import math

import pandas as pd

from benchmarks.market import Market, cost_fractions
from engine.core.simulate import Costs

REL_TOL = 1e-9
ABS_TOL = 1e-12


def is_close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return False
    if a == b:
        return True
    return abs(a - b) <= max(REL_TOL * max(abs(a), abs(b)), ABS_TOL)


def add(a: float, b: float) -> float:
    """a + b, snapped to 0 when the two (nearly) cancel."""
    if _sign(a) != _sign(b):
        if is_close(abs(a), abs(b)):
            return 0.0
    elif is_close(a + b, 0.0):
        return 0.0
    return a + b


def _sign(x: float) -> float:
    return 0.0 if x == 0 else math.copysign(1.0, x)


def _snap(x: float) -> float:
    return 0.0 if is_close(x, 0.0) else x


def accrual(dates: pd.DatetimeIndex, rates: list[float]) -> list[float]:
    """Growth of 1 at the rate prevailing over each gap, compounded by calendar days."""
    out, level = [], 1.0
    previous_date, previous_rate = None, rates[0]
    for date, rate in zip(dates, rates, strict=True):
        days = 0 if previous_date is None else (date - previous_date).days
        level *= (1.0 + previous_rate) ** (days / 365.0)
        out.append(level)
        previous_date, previous_rate = date, rate
    return out


def simulate_reference(market: Market, fills: pd.DataFrame, costs: Costs) -> list[float]:
    """Wealth at each bar's close (1.0 before the first fill) for one fill schedule."""
    fee, slippage, borrow_rate = cost_fractions(costs)
    bars, symbols = market.bars, list(market.symbols)
    prices = market.prices.tolist()
    targets = {
        pd.Timestamp(t): [float(w) for w in row]
        for t, row in zip(fills.index, fills[symbols].to_numpy().tolist(), strict=True)
    }
    shorted = [j for j in range(len(symbols)) if any(r[j] < 0 for r in targets.values())]

    # instruments: symbols, short legs, CASH; each with its own price path
    borrow = accrual(market.dates, [borrow_rate] * bars)
    cash_index = accrual(market.dates, market.cash_rate.tolist())
    count = len(symbols) + len(shorted) + 1
    price = [[0.0] * count for _ in range(bars)]
    for t in range(bars):
        row = prices[t]
        for j in range(len(symbols)):
            price[t][j] = row[j]
        for k, j in enumerate(shorted):
            price[t][len(symbols) + k] = row[j] * borrow[t]
        price[t][count - 1] = cash_index[t]
    fees = [fee] * (count - 1) + [0.0]  # CASH is the money itself: it trades free
    slips = [slippage] * (count - 1) + [0.0]

    # target percent per instrument at each fill bar (NaN: no order)
    orders: dict[int, list[float]] = {}
    for t, date in enumerate(market.dates):
        row = targets.get(date)
        if row is None:
            continue
        sizes = [max(w, 0.0) for w in row] + [min(row[j], 0.0) for j in shorted]
        total = 0.0
        for w in row:
            total += w
        orders[t] = [*sizes, 1.0 - total]
    if 0 not in orders:  # before the first fill the starting money earns the cash rate
        orders[0] = [math.nan] * (count - 1) + [1.0]
    for t, sizes in orders.items():  # no order where there is no price
        orders[t] = [math.nan if math.isnan(price[t][k]) else s for k, s in enumerate(sizes)]

    cash = 1.0
    units = [0.0] * count
    mark = [math.nan] * count  # last known price (a position is valued at it)
    wealth = []
    for t in range(bars):
        for k in range(count):
            if not math.isnan(price[t][k]):
                mark[k] = price[t][k]
        sizes = orders.get(t)
        if sizes is not None:
            cash = _rebalance(cash, units, mark, sizes, fees, slips)
        else:
            cash = _snap(cash)
            for k in range(count):
                units[k] = _snap(units[k])
        value = cash
        for k in range(count):
            if units[k] != 0:
                value += units[k] * mark[k]
        wealth.append(value)
    return wealth


def _rebalance(
    cash: float,
    units: list[float],
    mark: list[float],
    sizes: list[float],
    fees: list[float],
    slips: list[float],
) -> float:
    """One fill bar: every instrument to its target percent, sells first; returns the cash."""
    value = cash
    for k in range(len(units)):
        if units[k] != 0:
            value += units[k] * mark[k]
    approx = [s * value - units[k] * mark[k] for k, s in enumerate(sizes)]
    order = sorted(range(len(sizes)), key=lambda k: (math.isnan(approx[k]), approx[k]))
    for k in order:
        cash, units[k] = _target_percent(
            _snap(cash), _snap(units[k]), _snap(value), _snap(mark[k]), sizes[k], fees[k], slips[k]
        )
    return cash


def _target_percent(
    cash: float, held: float, value: float, price: float, size: float, fee: float, slip: float
) -> tuple[float, float]:
    """One order to `size` of wealth; returns (cash, units held) after it."""
    if math.isnan(size) or math.isnan(price) or math.isnan(value) or value <= 0:
        return cash, held
    wanted = size * value / price - held
    if wanted > 0:
        return _buy(cash, held, wanted, price, fee, slip)
    return _sell(cash, held, -wanted, price, fee, slip)


def _buy(
    cash: float, held: float, size: float, price: float, fee: float, slip: float
) -> tuple[float, float]:
    fill_price = price * (1 + slip)
    if cash == 0:
        return cash, held  # nothing to buy with
    notional = size * fill_price
    total = notional + notional * fee
    if is_close(total, cash) or total < cash:
        bought, spent = size, total
    else:  # not enough cash: buy what all of it pays for, fee included
        affordable = add(cash, -0.0) / (1 + fee)
        if affordable <= 0:
            return cash, held
        bought, spent = affordable / fill_price, cash
    if is_close(size, 0.0):
        return cash, held
    return add(cash, -spent), add(held, bought)


def _sell(
    cash: float, held: float, size: float, price: float, fee: float, slip: float
) -> tuple[float, float]:
    if is_close(size, 0.0):
        return cash, held
    proceeds = size * (price * (1 - slip))
    received = add(proceeds, -(proceeds * fee))
    if received < 0:
        return cash, held
    return cash + received, add(held, -size)

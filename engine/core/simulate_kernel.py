"""The numba half of `engine.core.simulate`: vectorbt's order arithmetic, visited only at fills.

`vbt.Portfolio.from_orders(size_type="targetpercent", cash_sharing=True, call_seq="auto")`
walks every bar of every column of every parameter set, with every input tiled to bars x
columns, then derives value, cash and positions from its order records in more passes of the
same size. A sweep's sets rebalance a few hundred times in 4,000 bars, so nearly all of that
is idle. This kernel keeps vectorbt's own numba building blocks for everything that decides a
number (`order_nb`, `process_order_nb`, `approx_order_value_nb`, `insert_argsort_nb`,
`add_nb`: the same fees, slippage, partial fills, sells-before-buys order and rounding
rules) and calls them only on fill bars, reading one shared price table (no tiled copies),
and it values each set bar by bar the way `Portfolio.value()` does (cash from cash flows,
positions from order sizes, each accumulated with `add_nb`). `tests/test_simulate.py` holds
it to `from_orders` on the same schedules.

Instrument table per panel (W = 2m + 1 columns for m symbols): the symbols, each symbol's
short leg (`SYM~short`, price times the borrow index), and CASH. A set's own columns are its
m symbols, the short legs it uses, and CASH, in that order, as `engine.core.simulate` always laid
them out for vectorbt.

This is the only module that calls vectorbt.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from vectorbt._settings import settings
from vectorbt.portfolio.enums import (
    Direction,
    OrderSide,
    OrderStatus,
    ProcessOrderState,
    SizeType,
    log_dt,
    order_dt,
)
from vectorbt.portfolio.nb import approx_order_value_nb, order_nb, process_order_nb
from vectorbt.utils.array_ import insert_argsort_nb
from vectorbt.utils.math_ import abs_tol, add_nb

TARGET_PERCENT = SizeType.TargetPercent
BOTH = Direction.Both
FILLED = OrderStatus.Filled
SELL = OrderSide.Sell
ABS_TOL = abs_tol  # add_nb(x, 0.0) is 0.0 exactly when |x| <= this
MIN_SIZE = float(settings["portfolio"]["min_size"])  # from_orders' default


def order_scratch() -> tuple[np.ndarray, np.ndarray]:
    """The record arrays `process_order_nb` writes into (one order at a time, no logs)."""
    return np.empty(1, dtype=order_dt), np.empty(0, dtype=log_dt)


@njit(cache=True)
def fill_rows_nb(dec_bar, dec_weights, dec_offsets, traded, panel_of, start_pos):
    """Decisions -> fills: the first bar at or after the next one on which every leg trades.

    A leg is a symbol the decision holds or the previous decision held. Decisions before
    `start_pos` collapse into the last of them, filled from `start_pos`; a newer decision
    supersedes an older one still waiting; one that can never fill is dropped.
    Returns (fill bar on the panel calendar, decision row it fills, offsets per set).
    """
    n_sets = len(dec_offsets) - 1
    m = dec_weights.shape[1]
    n_bars = traded.shape[1]
    out_bar = np.empty(len(dec_bar), np.int64)  # a decision fills at most once
    out_row = np.empty(len(dec_bar), np.int64)
    out_offsets = np.zeros(n_sets + 1, np.int64)
    previous = np.zeros(m)
    legs = np.zeros(m, np.bool_)
    n = 0
    for s in range(n_sets):
        p = panel_of[s]
        first = n
        previous[:] = 0.0
        lo, hi = dec_offsets[s], dec_offsets[s + 1]
        inside = lo
        while inside < hi and dec_bar[inside] < start_pos:
            inside += 1
        k = inside - 1 if inside > lo else inside
        while k < hi:
            earliest = start_pos if k < inside else dec_bar[k] + 1
            any_leg = False
            for j in range(m):
                legs[j] = dec_weights[k, j] != 0.0 or previous[j] != 0.0
                any_leg = any_leg or legs[j]
            at = -1
            if any_leg:
                for t in range(earliest, n_bars):
                    ok = True
                    for j in range(m):
                        if legs[j] and not traded[p, t, j]:
                            ok = False
                            break
                    if ok:
                        at = t
                        break
            elif earliest < n_bars:
                at = earliest
            previous[:] = dec_weights[k]
            k += 1
            if at < 0:
                continue  # never fillable before the data ends
            while n > first and out_bar[n - 1] >= at:
                n -= 1  # a newer decision supersedes one still pending
            out_bar[n] = at
            out_row[n] = k - 1
            n += 1
        out_offsets[s + 1] = n
    return out_bar[:n], out_row[:n], out_offsets


@njit(cache=True)
def _snap(x):
    """`add_nb(x, 0.0)`: what vectorbt does to a balance on a bar with no order."""
    return 0.0 if abs(x) <= ABS_TOL else x


@njit(cache=True)
def simulate_nb(
    close,
    valuation,
    mark,
    fee,
    slippage,
    panel_of,
    fill_bar,
    fill_weights,
    fill_offsets,
    keep_weights,
    order_records,
    log_records,
):
    """Every set on the window: wealth and returns per bar, turnover, gross exposure (and
    weights), each set's series contiguous (sets x bars), and where each set went bankrupt.

    Bankruptcy: once a set's wealth at a bar's close is at or below zero, every position is
    closed at that close and the book is done: wealth 0 from that bar on (return -100% there,
    0 after), no later order fills. vectorbt would keep trading a negative book (target
    percents of a negative value flip it short), which is no account anyone can hold.
    Returned per set: the bar (-1 if never), the equity it fell to, and the gross exposure
    held into that bar (the previous bar's).

    Turnover is the sum over the risky instruments' orders (symbols and short legs, never
    CASH: moving idle money is the other side of a trade, not a second one) of
    |traded notional| / wealth at the close of the fill bar.

    close (P, bars, W): instrument prices, NaN where there is none (no order there).
    valuation (P, bars, W): close back-filled (the order and valuation price vectorbt got).
    mark (P, bars, W): valuation forward-filled (vectorbt's last valuation price and the
    price `Portfolio.value()` uses). fee, slippage (W,). fill_bar (window positions),
    fill_weights (rows x m) and fill_offsets (sets + 1) from `fill_rows_nb`.
    """
    bars, width_all = close.shape[1], close.shape[2]
    m = (width_all - 1) // 2
    cash_col = 2 * m
    n_sets = len(fill_offsets) - 1
    value_out = np.empty((n_sets, bars))
    returns_out = np.empty((n_sets, bars))
    gross_out = np.empty((n_sets, bars))  # set-major: each row reduces like a 1-D array
    turnover_out = np.zeros(n_sets)
    weights_out = np.full((bars if keep_weights else 0, n_sets, width_all), np.nan)
    broke_bar = np.full(n_sets, -1, np.int64)
    broke_equity = np.full(n_sets, np.nan)
    broke_leverage = np.full(n_sets, np.nan)

    cols = np.empty(width_all, np.int64)
    position = np.zeros(width_all)
    debt = np.zeros(width_all)
    last_val_price = np.empty(width_all)
    held = np.zeros(width_all)  # positions as Portfolio.assets() accumulates them
    sizes = np.empty(width_all)
    approx = np.empty(width_all)
    call_seq = np.empty(width_all, np.int64)
    cash_flow = np.zeros(width_all)
    asset_flow = np.zeros(width_all)
    traded = np.zeros(width_all)
    order_value_bar = np.zeros(width_all)
    no_price_ever = np.zeros(width_all, np.bool_)

    for s in range(n_sets):
        p = panel_of[s]
        lo, hi = fill_offsets[s], fill_offsets[s + 1]
        width = 0
        for j in range(m):
            cols[width] = j
            width += 1
        for j in range(m):
            for r in range(lo, hi):
                if fill_weights[r, j] < 0:
                    cols[width] = m + j
                    width += 1
                    break
        cols[width] = cash_col
        width += 1

        cash, free_cash = 1.0, 1.0
        cash_held = 1.0  # cash as Portfolio.cash() accumulates it from cash flows
        unsnapped = False
        for k in range(width):  # mark is NaN only where a column never has a price
            no_price_ever[k] = np.isnan(mark[p, 0, cols[k]])
        for k in range(width):
            position[k] = 0.0
            debt[k] = 0.0
            held[k] = 0.0
        r = lo
        last_order_bar = -1
        for t in range(bars):
            if broke_bar[s] >= 0:  # bankrupt: nothing held, nothing fills, wealth stays 0
                _bankrupt_bar(
                    s, t, width, cols, keep_weights, value_out, returns_out, gross_out, weights_out
                )
                continue
            fill = r < hi and fill_bar[r] == t
            n_orders = 0
            n_risky = 0  # orders of symbols and short legs: what turnover counts
            if fill or t == 0:
                if t - last_order_bar > 1:  # bars without orders in between: balances snap
                    cash, free_cash = _snap(cash), _snap(free_cash)
                    for k in range(width):
                        position[k] = _snap(position[k])
                        debt[k] = _snap(debt[k])
                last_order_bar = t
                # target percents of this bar (before the first fill: all money in CASH)
                for k in range(width):
                    sizes[k] = np.nan
                if fill:
                    total = 0.0
                    for j in range(m):
                        w = fill_weights[r, j]
                        total += w
                        sizes[j] = max(w, 0.0)
                    for k in range(m, width - 1):
                        sizes[k] = min(fill_weights[r, cols[k] - m], 0.0)
                    sizes[width - 1] = 1.0 - total
                    r += 1
                else:
                    sizes[width - 1] = 1.0
                for k in range(width):
                    if np.isnan(close[p, t, cols[k]]):
                        sizes[k] = np.nan  # no order where there is no price
                    last_val_price[k] = mark[p, t, cols[k]]
                value_now = cash
                for k in range(width):
                    if position[k] != 0:
                        value_now += position[k] * last_val_price[k]
                for k in range(width):
                    approx[k] = approx_order_value_nb(
                        sizes[k],
                        TARGET_PERCENT,
                        BOTH,
                        cash,
                        position[k],
                        free_cash,
                        last_val_price[k],
                        value_now,
                    )
                    call_seq[k] = k
                insert_argsort_nb(approx[:width], call_seq[:width])
                for k in range(width):
                    cash_flow[k] = 0.0
                    asset_flow[k] = 0.0
                for c in range(width):
                    k = call_seq[c]
                    col = cols[k]
                    order = order_nb(
                        sizes[k],
                        valuation[p, t, col],
                        TARGET_PERCENT,
                        BOTH,
                        fee[col],
                        0.0,
                        slippage[col],
                        MIN_SIZE,
                        np.inf,
                        np.nan,
                        0.0,
                        False,
                        True,
                        False,
                        False,
                    )
                    state = ProcessOrderState(
                        cash,
                        position[k],
                        debt[k],
                        free_cash,
                        last_val_price[k],
                        value_now,
                        0,
                        0,
                    )
                    result, state = process_order_nb(
                        t, col, s, state, False, order, order_records, log_records
                    )
                    cash, free_cash = state.cash, state.free_cash
                    position[k], debt[k] = state.position, state.debt
                    if result.status == FILLED:
                        signed = -result.size if result.side == SELL else result.size
                        asset_flow[k] = add_nb(0.0, signed)
                        cash_flow[k] = add_nb(0.0, -signed * result.price - result.fees)
                        n_orders += 1
                        if col != cash_col:  # CASH's order is the other side of a trade
                            order_value_bar[n_risky] = abs(result.size * result.price)
                            n_risky += 1
            # value the bar as Portfolio.value() does: cash + sum of position x price
            if n_orders:
                flow = 0.0
                for k in range(width):
                    flow += cash_flow[k]
                    held[k] = add_nb(held[k], asset_flow[k])
                cash_held = add_nb(cash_held, flow)
                unsnapped = True
            elif unsnapped:  # add_nb(x, 0.0) on a bar without orders; idempotent after once
                for k in range(width):
                    held[k] = _snap(held[k])
                cash_held = _snap(cash_held)
                unsnapped = False
            asset_value = 0.0
            for k in range(width):
                if held[k] != 0.0 or no_price_ever[k]:  # a zero position adds exactly 0.0
                    traded[k] = mark[p, t, cols[k]] * held[k]
                    asset_value += traded[k]
                else:
                    traded[k] = 0.0
            value = cash_held + asset_value
            if value <= 0.0:  # bankrupt: every position closed at this close
                broke_bar[s] = t
                broke_equity[s] = value
                broke_leverage[s] = gross_out[s, t - 1] if t else 0.0
                _bankrupt_bar(
                    s, t, width, cols, keep_weights, value_out, returns_out, gross_out, weights_out
                )
                returns_out[s, t] = -1.0
                continue
            value_out[s, t] = value
            returns_out[s, t] = value / (value_out[s, t - 1] if t else 1.0) - 1.0
            for o in range(n_risky):
                turnover_out[s] += order_value_bar[o] / value
            # gross exposure: |weights| of everything but CASH, summed as np.nansum does
            gross = 0.0
            for k in range(width - 1):
                if traded[k] != 0.0 or no_price_ever[k]:
                    x = abs(traded[k] / value)
                    if not np.isnan(x):
                        gross += x
            gross_out[s, t] = gross
            if keep_weights:
                for k in range(width):
                    weights_out[t, s, cols[k]] = traded[k] / value
    return (
        value_out,
        returns_out,
        gross_out,
        turnover_out,
        weights_out,
        broke_bar,
        broke_equity,
        broke_leverage,
    )


@njit(cache=True)
def _bankrupt_bar(s, t, width, cols, keep_weights, value_out, returns_out, gross_out, weights_out):
    """A bar of a bankrupt book: wealth 0, return 0, no exposure, every weight 0."""
    value_out[s, t] = 0.0
    returns_out[s, t] = 0.0
    gross_out[s, t] = 0.0
    if keep_weights:
        for k in range(width):
            weights_out[t, s, cols[k]] = 0.0

"""The one place that calls vectorbt: target-weight schedules -> portfolio value.

Execution half of the look-ahead wall: a decision taken at bar t's close fills at the close of
the first later bar on which every asset it trades has a real bar (a Friday decision on BTC
and SPY fills Monday; a Saturday BTC-only decision fills Sunday). A newer decision supersedes
an older one still waiting to fill.

vectorbt's open-source simulator has no interest on cash, no borrow fee and no margin, so the
engine models them as instruments with their own price paths:
- CASH accrues the cash rate: price_t = price_{t-1} * (1 + r_{t-1}) ** (days / 365). Idle
  money is a long CASH position; leverage is a short CASH position (borrowing at the bill rate).
- a short leg `SYM~short` is priced `price * borrow_index`, where borrow_index grows at the
  borrow rate the same way: being short it costs exactly the borrow rate on the short notional.
Every schedule is one group of columns with shared cash, so many parameter sets run in one call.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.panel import Panel

CASH = "CASH"
SHORT_SUFFIX = "~short"


@dataclass(frozen=True)
class Costs:
    fees_bps: float = 0.0  # per side, on traded notional
    slippage_bps: float = 0.0  # price moved against every fill
    borrow_bps: float = 0.0  # per year, on short notional


@dataclass(frozen=True)
class Simulation:
    value: pd.DataFrame  # window x runs: wealth, starting from 1.0 before the first fill
    returns: pd.DataFrame  # window x runs: simple returns per bar
    weights: list[pd.DataFrame]  # per run: window x instruments, end-of-bar weights
    turnover: pd.Series  # per run: sum over fills of |traded notional| / wealth
    fills: list[pd.DataFrame]  # per run: fill bar x universe targets


def simulate(
    panel: Panel | Sequence[Panel],
    targets: Sequence[pd.DataFrame],
    costs: Costs,
    start: pd.Timestamp | None = None,
    names: Sequence[str] | None = None,
) -> Simulation:
    """Simulate each target schedule (decision bar x symbol weights) from `start` to the end.

    `panel` is one panel shared by every schedule (a parameter sweep) or one panel per
    schedule on the same calendar (scenario paths): either way one vectorbt call.
    """
    panels = [panel] * len(targets) if isinstance(panel, Panel) else list(panel)
    if len(panels) != len(targets):
        raise ValueError("one panel per schedule, or one panel for all")
    index = panels[0].index
    if any(not p.index.equals(index) for p in panels[1:]):
        raise ValueError("scenario panels must share one calendar")
    start_pos = 0 if start is None else int(index.searchsorted(pd.Timestamp(start)))
    window = index[start_pos:]
    names = list(names) if names is not None else [f"run{i}" for i in range(len(targets))]

    closes, sizes, is_cash, groups, fills = [], [], [], [], []
    shared: dict[tuple, tuple[pd.DataFrame, np.ndarray]] = {}  # sets with the same instruments
    for group, (path, schedule) in enumerate(zip(panels, targets, strict=True)):
        fill_targets = fill_schedule(path, schedule, start_pos)
        close, size = _instrument_arrays(path, fill_targets, costs, start_pos, shared)
        fills.append(fill_targets)
        closes.append(close)
        sizes.append(size)
        is_cash.append(close.columns == CASH)
        groups += [group] * close.shape[1]

    close = np.concatenate([c.to_numpy() for c in closes], axis=1)
    size = np.concatenate(sizes, axis=1)
    cash_columns = np.concatenate(is_cash)  # CASH trades free: it is the money itself
    fee = np.where(cash_columns, 0.0, costs.fees_bps / 1e4)
    slippage = np.where(cash_columns, 0.0, costs.slippage_bps / 1e4)
    portfolio = _run_vectorbt(window, close, size, fee, slippage, np.asarray(groups))

    value = pd.DataFrame(portfolio.value().to_numpy(), index=window, columns=names)
    previous = value.shift(1)
    previous.iloc[0] = 1.0
    returns = value / previous - 1.0
    asset_value = portfolio.asset_value(group_by=False).to_numpy()
    weights, offset = [], 0
    for group, frame in enumerate(closes):
        width = frame.shape[1]
        block = asset_value[:, offset : offset + width] / value.iloc[:, [group]].to_numpy()
        weights.append(pd.DataFrame(block, index=window, columns=frame.columns))
        offset += width
    turnover = _turnover(portfolio, value, np.asarray(groups), names)
    return Simulation(value, returns, weights, turnover, fills)


def fill_schedule(panel: Panel, targets: pd.DataFrame, start_pos: int = 0) -> pd.DataFrame:
    """Decisions -> the bars they fill on (the next bar on which all their legs trade).

    Decisions before the window collapse into the last one, filled at the window's first
    eligible bar, so a run started mid-history enters the position its strategy held then.
    """
    index = panel.index
    symbols = list(targets.columns)
    traded = panel.traded[symbols].to_numpy()
    decision_pos = index.get_indexer(targets.index)
    rows = targets.to_numpy()

    before = np.flatnonzero(decision_pos < start_pos)
    keep = np.flatnonzero(decision_pos >= start_pos)
    plan: list[tuple[int, int]] = []  # (decision row, earliest fill position)
    if len(before):
        plan.append((int(before[-1]), start_pos))
    plan += [(int(k), int(decision_pos[k]) + 1) for k in keep]

    fills: list[tuple[int, np.ndarray]] = []
    previous = np.zeros(len(symbols))
    for row, earliest in plan:
        wanted = rows[row]
        legs = (wanted != 0) | (previous != 0)
        candidates = np.flatnonzero(traded[earliest:, legs].all(axis=1)) if legs.any() else [0]
        previous = wanted
        if len(candidates) == 0:
            continue  # never fillable before the data ends
        at = earliest + int(candidates[0])
        while fills and fills[-1][0] >= at:  # a newer decision supersedes a pending one
            fills.pop()
        fills.append((at, wanted))
    if not fills:
        return pd.DataFrame(columns=symbols, index=pd.DatetimeIndex([], name="date"), dtype=float)
    positions, values = zip(*fills, strict=True)
    return pd.DataFrame(
        np.vstack(values),
        index=pd.DatetimeIndex(index[list(positions)], name="date"),
        columns=symbols,
    )


def accrual_index(rate: pd.Series) -> pd.Series:
    """Growth of 1 at an annual rate prevailing over each gap, compounded by calendar days."""
    days = rate.index.to_series().diff().dt.days.fillna(0).to_numpy()
    prior = rate.shift(1).fillna(rate.iloc[0]).to_numpy()
    growth = np.power(1.0 + prior, days / 365.0)
    return pd.Series(np.cumprod(growth), index=rate.index)


def _instrument_arrays(
    panel: Panel,
    fills: pd.DataFrame,
    costs: Costs,
    start_pos: int,
    shared: dict[tuple, tuple[pd.DataFrame, np.ndarray]] | None = None,
) -> tuple[pd.DataFrame, np.ndarray]:
    """Close prices of this group's instruments on the window and its target-percent orders.

    The close frame depends on the panel, the symbols and which of them are shorted only, so
    the sets of a sweep share one (`shared`) and build only their own order array.
    """
    symbols = list(fills.columns)
    shorted = [s for s in symbols if (fills[s] < 0).any()]
    key = (id(panel), tuple(symbols), tuple(shorted))
    found = shared.get(key) if shared is not None else None
    if found is None:
        found = _close_frame(panel, symbols, shorted, costs, start_pos)
        if shared is not None:
            shared[key] = found
    close, no_price = found
    window = close.index
    size = np.full(close.shape, np.nan)
    at = window.get_indexer(fills.index)
    for symbol in symbols:
        weight = fills[symbol].to_numpy()
        size[at, close.columns.get_loc(symbol)] = np.maximum(weight, 0.0)
        if symbol in shorted:
            size[at, close.columns.get_loc(symbol + SHORT_SUFFIX)] = np.minimum(weight, 0.0)
    size[at, close.columns.get_loc(CASH)] = 1.0 - fills.sum(axis=1).to_numpy()
    if 0 not in at:  # until the first fill, the starting money earns the cash rate too
        size[0, close.columns.get_loc(CASH)] = 1.0
    size[no_price] = np.nan  # no order where there is no price
    return close, size


def _close_frame(
    panel: Panel, symbols: list[str], shorted: list[str], costs: Costs, start_pos: int
) -> tuple[pd.DataFrame, np.ndarray]:
    """The instruments' closes (assets, borrow-priced short legs, CASH) and where they are NaN."""
    window = panel.index[start_pos:]
    prices = panel.prices[symbols].iloc[start_pos:]
    borrow = accrual_index(pd.Series(costs.borrow_bps / 1e4, index=window))
    close = pd.concat(
        [
            prices,
            prices[shorted].mul(borrow, axis=0).add_suffix(SHORT_SUFFIX),
            accrual_index(panel.cash_rate.iloc[start_pos:]).rename(CASH),
        ],
        axis=1,
    )
    return close, np.isnan(close.to_numpy())


def _run_vectorbt(
    window: pd.DatetimeIndex,
    close: np.ndarray,
    size: np.ndarray,
    fees: np.ndarray,
    slippage: np.ndarray,
    groups: np.ndarray,
):  # -> vbt.Portfolio (untyped library)
    os.environ.setdefault("NUMBA_CACHE_DIR", _numba_cache_dir())
    import vectorbt as vbt

    # Assets before their first bar have no price; a zero position there is worth 0, so a
    # valuation placeholder keeps vectorbt's value finite. No order is ever placed on it.
    valuation = pd.DataFrame(close).bfill().to_numpy()
    return vbt.Portfolio.from_orders(
        close=pd.DataFrame(valuation, index=window),
        size=size,
        size_type="targetpercent",
        direction="both",
        price=valuation,
        fees=fees[None, :],
        slippage=slippage[None, :],
        init_cash=1.0,
        cash_sharing=True,
        group_by=groups,
        call_seq="auto",
        freq="1D",
    )


def _turnover(portfolio, value: pd.DataFrame, groups: np.ndarray, names: list[str]) -> pd.Series:
    """Traded notional over wealth at each fill, summed per run (1.0 = one full switch)."""
    records = portfolio.order_records  # structured array: col, idx, size, price, fees, side
    if len(records) == 0:
        return pd.Series(0.0, index=names)
    group = groups[records["col"]]
    wealth = value.to_numpy()[records["idx"], group]
    traded = np.abs(records["size"] * records["price"]) / wealth
    per_group = np.bincount(group, weights=traded, minlength=len(names))
    return pd.Series(per_group, index=names)


def _numba_cache_dir() -> str:
    from platformdirs import user_cache_dir

    path = os.path.join(user_cache_dir("playbook"), "numba")
    os.makedirs(path, exist_ok=True)
    return path

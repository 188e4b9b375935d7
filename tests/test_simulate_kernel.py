"""engine.core.simulate's kernel equals vectorbt's Portfolio.from_orders on the same schedules.

The reference below is how the engine called vectorbt before the kernel: every input tiled
to bars x columns, one `from_orders(size_type="targetpercent", cash_sharing=True,
call_seq="auto")` call, value, weights and turnover read back from the portfolio (turnover
from its order records of every instrument but CASH). The kernel calls vectorbt's own order
functions only on fill bars, so the two must agree bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import vectorbt as vbt
from conftest import make_panel, random_walk

from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.simulate import (
    CASH,
    SHORT_SUFFIX,
    Costs,
    accrual_index,
    fill_schedule,
    simulate,
    simulate_sets,
)


def reference(panel: Panel, plans: list[pd.DataFrame], costs: Costs, start: pd.Timestamp):
    """(value, weights per set, turnover) from one vbt.Portfolio.from_orders call."""
    index = panel.index
    start_pos = int(index.searchsorted(start))
    window = index[start_pos:]
    closes, sizes, groups = [], [], []
    for group, plan in enumerate(plans):
        fills = fill_schedule(panel, plan, start_pos)
        symbols = list(fills.columns)
        shorted = [s for s in symbols if (fills[s] < 0).any()]
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
        size = np.full(close.shape, np.nan)
        at = window.get_indexer(fills.index)
        for symbol in symbols:
            weight = fills[symbol].to_numpy()
            size[at, close.columns.get_loc(symbol)] = np.maximum(weight, 0.0)
            if symbol in shorted:
                size[at, close.columns.get_loc(symbol + SHORT_SUFFIX)] = np.minimum(weight, 0.0)
        size[at, close.columns.get_loc(CASH)] = 1.0 - fills.sum(axis=1).to_numpy()
        if 0 not in at:
            size[0, close.columns.get_loc(CASH)] = 1.0
        size[np.isnan(close.to_numpy())] = np.nan
        closes.append(close)
        sizes.append(size)
        groups += [group] * close.shape[1]
    close = np.concatenate([c.to_numpy() for c in closes], axis=1)
    is_cash = np.concatenate([c.columns == CASH for c in closes])
    valuation = pd.DataFrame(close).bfill().to_numpy()
    portfolio = vbt.Portfolio.from_orders(
        close=pd.DataFrame(valuation, index=window),
        size=np.concatenate(sizes, axis=1),
        size_type="targetpercent",
        direction="both",
        price=valuation,
        fees=np.where(is_cash, 0.0, costs.fees_bps / 1e4)[None, :],
        slippage=np.where(is_cash, 0.0, costs.slippage_bps / 1e4)[None, :],
        init_cash=1.0,
        cash_sharing=True,
        group_by=np.asarray(groups),
        call_seq="auto",
        freq="1D",
    )
    value = portfolio.value().to_numpy().reshape(len(window), len(plans))
    asset_value = portfolio.asset_value(group_by=False).to_numpy().reshape(len(window), -1)
    weights, offset = [], 0
    for group, frame in enumerate(closes):
        block = asset_value[:, offset : offset + frame.shape[1]] / value[:, [group]]
        weights.append(pd.DataFrame(block, index=window, columns=frame.columns))
        offset += frame.shape[1]
    records = portfolio.order_records
    records = records[~is_cash[records["col"]]]  # turnover: risky orders only, never CASH
    group_of = np.asarray(groups)[records["col"]]
    traded = np.abs(records["size"] * records["price"]) / value[records["idx"], group_of]
    turnover = np.bincount(group_of, weights=traded, minlength=len(plans))
    return value, weights, turnover


def random_plans(panel: Panel, symbols: list[str], seed: int, count: int, shorts: bool):
    """Seeded schedules: sparse decisions, some levered, some short, some all-cash."""
    rng = np.random.default_rng(seed)
    index = panel.index
    plans = []
    for _ in range(count):
        bars = np.sort(rng.choice(len(index) - 1, size=rng.integers(1, 25), replace=False))
        rows = []
        for bar in bars:
            tradable = panel.prices[symbols].iloc[bar].notna().to_numpy()
            low = -0.8 if shorts else 0.0
            w = np.where(tradable, rng.uniform(low, 1.0, len(symbols)), 0.0)
            w[rng.random(len(symbols)) < 0.3] = 0.0
            if rng.random() < 0.15:
                w[:] = 0.0  # all cash
            elif rng.random() < 0.5:
                w = w / max(np.abs(w).sum(), 1.0) * rng.uniform(0.2, 1.6)  # sometimes levered
            rows.append(w)
        plans.append(
            pd.DataFrame(rows, index=pd.DatetimeIndex(index[bars], name="date"), columns=symbols)
        )
    return plans


def crypto_and_equity_panel() -> Panel:
    days = pd.date_range("2021-01-01", periods=160)
    weekdays = days[days.day_of_week < 5]
    return make_panel(
        {
            "BTC-USD": random_walk(days, seed=11, vol=0.04),
            "SPY": random_walk(weekdays, seed=12),
            "ALT": random_walk(days[50:], seed=13, vol=0.06, start=3.0),  # lists late
        },
        cash_rate_pct=4.0,
    )


@pytest.mark.parametrize("shorts", [False, True])
@pytest.mark.parametrize("costs", [Costs(), Costs(fees_bps=10, slippage_bps=5, borrow_bps=80)])
def test_kernel_equals_from_orders_bit_for_bit(shorts, costs):
    panel = crypto_and_equity_panel()
    symbols = ["BTC-USD", "SPY", "ALT"]
    plans = random_plans(panel, symbols, seed=7 + shorts, count=40, shorts=shorts)
    start = panel.index[3]
    value, weights, turnover = reference(panel, plans, costs, start)
    sim = simulate(panel, plans, costs, start=start)
    np.testing.assert_array_equal(sim.value.to_numpy(), value)
    np.testing.assert_array_equal(sim.turnover.to_numpy(), turnover)
    for got, want in zip(sim.weights, weights, strict=True):
        assert list(got.columns) == list(want.columns)
        np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())


def test_sets_results_agree_with_per_run_frames():
    """The sweep's array path gives the same wealth, gross exposure, turnover and fills."""
    panel = crypto_and_equity_panel()
    symbols = ["BTC-USD", "SPY", "ALT"]
    plans = random_plans(panel, symbols, seed=3, count=25, shorts=True)
    costs = Costs(fees_bps=5, slippage_bps=5, borrow_bps=50)
    start = panel.index[10]
    sim = simulate(panel, plans, costs, start=start)
    sets = simulate_sets(panel, Decisions.from_targets(plans, panel.index), costs, start)
    np.testing.assert_array_equal(sets.value.T, sim.value.to_numpy())
    np.testing.assert_array_equal(sets.returns.T, sim.returns.to_numpy())
    np.testing.assert_array_equal(sets.turnover, sim.turnover.to_numpy())
    assert list(sets.fills) == [len(f) for f in sim.fills]
    for s, frame in enumerate(sim.weights):
        risky = frame.to_numpy()[:, frame.columns != CASH]
        np.testing.assert_array_equal(sets.gross[s], np.nansum(np.abs(risky), axis=1))


def test_decisions_before_the_window_collapse_into_the_last():
    days = pd.date_range("2021-01-01", periods=20)
    panel = make_panel({"A": [10.0 + i for i in range(20)]}, days)
    plan = pd.DataFrame(
        {"A": [1.0, 0.5, 0.25]},
        index=pd.DatetimeIndex([days[1], days[3], days[12]], name="date"),
    )
    fills = fill_schedule(panel, plan, start_pos=8)
    assert list(fills.index) == [days[8], days[13]]  # the 0.5 at the window's start
    assert list(fills["A"]) == [0.5, 0.25]


def test_a_decision_with_nothing_to_trade_on_the_last_bar_is_dropped():
    days = pd.date_range("2021-01-01", periods=5)
    panel = make_panel({"A": [1.0, 2.0, 3.0, 4.0, 5.0]}, days)
    plan = pd.DataFrame({"A": [0.0]}, index=pd.DatetimeIndex([days[-1]], name="date"))
    assert fill_schedule(panel, plan).empty


def test_concatenated_decisions_keep_each_sets_rows():
    index = pd.date_range("2021-01-01", periods=6)
    a = pd.DataFrame({"X": [1.0, 0.0]}, index=pd.DatetimeIndex(index[[0, 3]], name="date"))
    b = pd.DataFrame({"X": [0.5]}, index=pd.DatetimeIndex(index[[2]], name="date"))
    whole = Decisions.from_targets([a, b, a], index)
    parts = Decisions.concat(
        [Decisions.from_targets([a], index), Decisions.from_targets([b, a], index)]
    )
    assert list(parts.offsets) == list(whole.offsets) == [0, 2, 3, 5]
    np.testing.assert_array_equal(parts.bar, whole.bar)
    for s, want in enumerate([a, b, a]):
        pd.testing.assert_frame_equal(parts.targets(s, index), want)


def test_a_bankrupt_set_is_the_same_on_the_sweep_path_with_wealth_written_by_hand():
    """Levered sets that go broke: the sweep's arrays and the run's frames agree, and the
    wealth path is written out here (vectorbt would keep trading a negative book)."""
    days = pd.date_range("2030-01-01", periods=6)
    panel = make_panel({"A": [10.0, 10.0, 5.0, 4.0, 8.0, 9.0], "B": [1.0] * 6}, days)
    plans = [
        pd.DataFrame({"A": [2.5], "B": [0.0]}, index=pd.DatetimeIndex(days[:1], name="date")),
        pd.DataFrame({"A": [-2.0], "B": [0.5]}, index=pd.DatetimeIndex(days[:1], name="date")),
    ]
    sim = simulate(panel, plans, Costs(), start=days[0])
    sets = simulate_sets(panel, Decisions.from_targets(plans, panel.index), Costs(), days[0])
    # long 2.5x from 10: 1 + 2.5 x (5/10 - 1) = -0.25 at days[2]: broke there
    # short 2x from 10: 1 - 2 x (5/10 - 1) = 2, 1 - 2 x (4/10 - 1) = 2.2, then
    # 1 - 2 x (8/10 - 1) = 1.4, 1 - 2 x (9/10 - 1) = 1.2 (B is flat, no borrow fee)
    np.testing.assert_array_equal(sets.value[0], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(sets.value[1], [1.0, 1.0, 2.0, 2.2, 1.4, 1.2], rtol=1e-12)
    np.testing.assert_array_equal(sets.value.T, sim.value.to_numpy())
    np.testing.assert_array_equal(sets.returns.T, sim.returns.to_numpy())
    np.testing.assert_array_equal(sets.gross[0], [0.0, 2.5, 0.0, 0.0, 0.0, 0.0])
    assert list(sets.bankrupt_bar) == [2, -1]
    assert list(sets.fills) == [1, 1]
    assert sets.bankrupt_equity[0] == pytest.approx(-0.25)
    assert sets.bankrupt_leverage[0] == pytest.approx(2.5)

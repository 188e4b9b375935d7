"""Known answers for the simulator: each checkable by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel, random_walk

from engine.core.schedule import build_schedule
from engine.core.simulate import CASH, Costs, fill_schedule, simulate
from strategies.baselines import BuyAndHold, SixtyForty


def targets(rows: dict[str, dict[str, float]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=columns).fillna(0.0)
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame


def test_buy_and_hold_total_return_is_last_over_first_price():
    index = pd.bdate_range("2021-01-04", periods=40)
    price = random_walk(index, seed=1)
    panel = make_panel({"SPY": price})
    schedule = build_schedule(BuyAndHold(BuyAndHold.Params(symbol="SPY")), panel)
    # decided at the first bar's close, so the window starts where it fills: the second bar
    sim = simulate(panel, [schedule.targets], Costs(), start=index[1])
    total = sim.value.iloc[-1, 0]
    assert total == pytest.approx(price.iloc[-1] / price.iloc[1], rel=1e-12)
    assert sim.returns.iloc[0, 0] == 0.0  # filled at the first close: no return yet


def test_sixty_forty_monthly_matches_hand_computation():
    index = pd.bdate_range("2021-01-04", "2021-05-28")
    spy, tlt = random_walk(index, seed=2), random_walk(index, seed=3, vol=0.005, start=50)
    panel = make_panel({"SPY": spy, "TLT": tlt})
    schedule = build_schedule(SixtyForty(), panel)
    sim = simulate(panel, [schedule.targets], Costs(), start=index[1])

    # by hand: decide on the first bar of each month, fill at the next bar's close
    month = index.to_period("M")
    decisions = [0] + [i for i in range(1, len(index)) if month[i] != month[i - 1]]
    fills = {d + 1 for d in decisions}
    wealth, holdings, expected = 1.0, None, []
    for i in range(1, len(index)):
        if holdings is not None:
            wealth = holdings[0] * spy.iloc[i] + holdings[1] * tlt.iloc[i]
        if i in fills:
            holdings = (0.6 * wealth / spy.iloc[i], 0.4 * wealth / tlt.iloc[i])
        expected.append(wealth)
    np.testing.assert_allclose(sim.value.iloc[:, 0].to_numpy(), expected, rtol=0, atol=1e-9)
    assert len(sim.fills[0]) == len(fills)


def test_fees_cost_exactly_traded_notional_times_rate():
    index = pd.date_range("2021-01-01", periods=10)
    panel = make_panel({"A": [10.0] * 10}, index)
    fee = 25 / 1e4
    one = targets({index[0]: {"A": 1.0}}, ["A"])
    free = simulate(panel, [one], Costs(), start=index[1]).value.iloc[-1, 0]
    paid = simulate(panel, [one], Costs(fees_bps=25), start=index[1]).value.iloc[-1, 0]
    notional = 1.0 / (1.0 + fee)  # all-in: notional plus its fee spends the 1.0 of wealth
    assert free == 1.0
    assert paid == pytest.approx(1.0 - notional * fee, abs=1e-12)


def test_round_trip_fees_and_slippage_each_charged_on_both_sides():
    index = pd.date_range("2021-01-01", periods=10)
    panel = make_panel({"A": [10.0] * 10}, index)
    in_out = targets({index[0]: {"A": 1.0}, index[4]: {}}, ["A"])
    for costs in (Costs(fees_bps=10), Costs(slippage_bps=10)):
        value = simulate(panel, [in_out], costs, start=index[1]).value.iloc[-1, 0]
        assert value == pytest.approx((1 - 0.001 / 1.001) * (1 - 0.001), rel=1e-9)


def test_idle_cash_earns_constant_rate_for_a_year():
    index = pd.date_range("2021-01-01", "2022-01-01")  # 365 days of accrual
    panel = make_panel({"A": [10.0] * len(index)}, index, cash_rate_pct=5.0)
    flat = targets({index[0]: {}}, ["A"])
    value = simulate(panel, [flat], Costs(), start=index[0]).value.iloc[:, 0]
    assert value.iloc[-1] == pytest.approx(1.05, abs=1e-12)
    assert value.loc["2021-07-02"] == pytest.approx(1.05 ** (182 / 365), abs=1e-12)


def test_cash_accrues_over_weekends_on_a_business_day_calendar():
    index = pd.bdate_range("2021-01-01", "2022-01-01")  # Fri 2021-01-01 .. Fri 2021-12-31
    panel = make_panel({"A": [10.0] * len(index)}, index, cash_rate_pct=5.0)
    value = simulate(panel, [targets({index[0]: {}}, ["A"])], Costs()).value.iloc[:, 0]
    assert value.iloc[-1] == pytest.approx(1.05 ** (364 / 365), abs=1e-12)


def test_short_pays_borrow_on_notional_and_earns_cash_on_proceeds():
    index = pd.date_range("2021-01-01", "2022-01-01")
    panel = make_panel({"TLT": [100.0] * len(index)}, index, cash_rate_pct=0.0)
    short = targets({index[0]: {"TLT": -1.0}}, ["TLT"])
    sim = simulate(panel, [short], Costs(borrow_bps=100), start=index[1])
    # filled at the second bar; borrow accrues over the 364 days after it
    assert sim.value.iloc[-1, 0] == pytest.approx(1.0 - (1.01 ** (364 / 365) - 1.0), abs=1e-12)
    weights = sim.weights[0]
    assert weights[CASH].iloc[-1] == pytest.approx(2.0 / sim.value.iloc[-1, 0], rel=1e-9)

    with_rate = make_panel({"TLT": [100.0] * len(index)}, index, cash_rate_pct=4.0)
    sim = simulate(with_rate, [short], Costs(borrow_bps=100), start=index[1])
    rebate = 2.0 * 1.04 ** (364 / 365) - 1.01 ** (364 / 365)
    assert sim.value.iloc[-1, 0] == pytest.approx(rebate, abs=1e-12)


def test_leverage_is_capped_at_decision_and_financed_at_the_cash_rate():
    index = pd.date_range("2021-01-01", "2022-01-02")
    panel = make_panel({"A": [10.0] * len(index)}, index, cash_rate_pct=5.0)

    class TwoX(BuyAndHold):
        name = "two-x-test"

        def on_event(self, event, ctx):
            return {"A": 2.0} if event.kind == "start" else None

    strategy = TwoX(BuyAndHold.Params(symbol="A"))
    capped = build_schedule(strategy, panel, leverage_cap=1.0)
    assert capped.capped == 1 and capped.targets.iloc[0]["A"] == 1.0
    levered = build_schedule(strategy, panel, leverage_cap=2.0)
    sim = simulate(panel, [levered.targets], Costs(), start=index[1])
    # long 2 of a flat asset, short 1 of CASH growing at 5%: wealth = 2 - 1.05 after a year
    assert sim.value.iloc[-1, 0] == pytest.approx(2.0 - 1.05, abs=1e-12)


def test_decision_fills_at_the_next_bar_not_the_same_bar():
    index = pd.date_range("2021-01-01", periods=6)
    prices = [10.0, 10.0, 10.0, 20.0, 20.0, 20.0]  # jumps on bar 3
    panel = make_panel({"A": prices}, index)
    decided_on_jump_day = targets({index[3]: {"A": 1.0}}, ["A"])
    sim = simulate(panel, [decided_on_jump_day], Costs(), start=index[0])
    assert sim.fills[0].index[0] == index[4]
    assert sim.value.iloc[-1, 0] == 1.0  # the jump is not captured


def test_friday_decision_with_an_equity_leg_fills_monday_on_a_seven_day_calendar():
    days = pd.date_range("2021-01-01", "2021-01-31")  # Friday 2021-01-01
    btc = pd.Series(np.linspace(100, 130, len(days)), index=days)
    spy = random_walk(pd.bdate_range("2021-01-01", "2021-01-29"), seed=4)
    panel = make_panel({"BTC-USD": btc, "SPY": spy})
    friday, saturday = pd.Timestamp("2021-01-08"), pd.Timestamp("2021-01-09")
    both = targets({friday: {"BTC-USD": 0.5, "SPY": 0.5}}, ["BTC-USD", "SPY"])
    assert fill_schedule(panel, both).index[0] == pd.Timestamp("2021-01-11")  # Monday
    btc_only = targets({saturday: {"BTC-USD": 1.0}}, ["BTC-USD", "SPY"])
    assert fill_schedule(panel, btc_only).index[0] == pd.Timestamp("2021-01-10")  # Sunday


def test_newer_decision_supersedes_a_pending_fill():
    days = pd.date_range("2021-01-01", "2021-01-20")
    btc = pd.Series(100.0, index=days)
    spy = pd.Series(50.0, index=pd.bdate_range("2021-01-01", "2021-01-20"))
    panel = make_panel({"BTC-USD": btc, "SPY": spy})
    friday, saturday = pd.Timestamp("2021-01-08"), pd.Timestamp("2021-01-09")
    plan = targets({friday: {"SPY": 1.0}, saturday: {}}, ["BTC-USD", "SPY"])
    fills = fill_schedule(panel, plan)
    assert list(fills.index) == [pd.Timestamp("2021-01-11")]  # one fill, the newer (flat) one
    assert fills.iloc[0].abs().sum() == 0.0


def test_asset_before_its_first_bar_cannot_be_held():
    index = pd.date_range("2021-01-01", periods=10)
    late = pd.Series([5.0] * 5, index=index[5:])
    panel = make_panel({"A": [10.0] * 10, "B": late}, index)
    assert panel.prices["B"].iloc[:5].isna().all()  # never back-filled
    schedule = build_schedule(SixtyForty(SixtyForty.Params(stock="A", bond="B")), panel)
    first = schedule.targets.iloc[0]
    assert first["B"] == 0.0 and first["A"] == 0.6  # B waits in cash until it lists
    assert schedule.targets.loc[index[5]].to_dict() == {"A": 0.6, "B": 0.4}


def test_many_schedules_in_one_call_equal_one_by_one():
    index = pd.bdate_range("2021-01-04", "2021-06-30")
    panel = make_panel({"SPY": random_walk(index, 5), "TLT": random_walk(index, 6, 0.005)})
    plans = [
        build_schedule(SixtyForty(SixtyForty.Params(stock_weight=w)), panel).targets
        for w in (0.2, 0.6, 0.9)
    ]
    costs = Costs(fees_bps=3, slippage_bps=2)
    together = simulate(panel, plans, costs, start=index[1])
    for i, plan in enumerate(plans):
        alone = simulate(panel, [plan], costs, start=index[1])
        np.testing.assert_allclose(together.value.iloc[:, i], alone.value.iloc[:, 0], atol=1e-12)


def test_scenario_paths_with_their_own_prices_in_one_call_equal_one_by_one():
    index = pd.bdate_range("2021-01-04", "2021-06-30")
    panels = [
        make_panel({"SPY": random_walk(index, 10 + i), "TLT": random_walk(index, 20 + i, 0.005)})
        for i in range(3)
    ]
    plans = [build_schedule(SixtyForty(), p).targets for p in panels]
    together = simulate(panels, plans, Costs(fees_bps=2), start=index[1])
    for i, (panel, plan) in enumerate(zip(panels, plans, strict=True)):
        alone = simulate(panel, [plan], Costs(fees_bps=2), start=index[1])
        np.testing.assert_allclose(together.value.iloc[:, i], alone.value.iloc[:, 0], atol=1e-12)
    assert together.value.iloc[-1].nunique() == 3  # different prices, different outcomes


def test_turnover_excludes_cash_instrument():
    """Regression: every switch between an asset and CASH was counted twice (the CASH leg's
    order too). Idle cash is not a trade: buying 100% of A from cash turns over 1.0 of wealth,
    and a round trip (in, then back to cash) 2.0, with no costs on a flat price."""
    index = pd.date_range("2021-01-01", periods=10)
    panel = make_panel({"A": [10.0] * 10}, index)
    buy = targets({index[0]: {"A": 1.0}}, ["A"])
    assert simulate(panel, [buy], Costs(), start=index[0]).turnover.iloc[0] == 1.0
    in_out = targets({index[0]: {"A": 1.0}, index[4]: {}}, ["A"])
    assert simulate(panel, [in_out], Costs(), start=index[0]).turnover.iloc[0] == 2.0
    half = targets({index[0]: {"A": 0.5}, index[4]: {"A": 0.25}}, ["A"])
    assert simulate(panel, [half], Costs(), start=index[0]).turnover.iloc[0] == 0.75


def test_turnover_counts_short_legs_not_their_cash_financing():
    """A short leg is a risky trade (counted); the CASH it is financed with is not."""
    index = pd.date_range("2021-01-01", periods=10)
    panel = make_panel({"A": [10.0] * 10, "B": [5.0] * 10}, index)
    plan = targets({index[0]: {"A": 1.5, "B": -0.5}}, ["A", "B"])
    assert simulate(panel, [plan], Costs(), start=index[0]).turnover.iloc[0] == 2.0


def _with_fed_events(panel, dates):
    """The panel with calendar events on `dates` (as the embedded Fed calendar places them)."""
    import dataclasses

    bars = pd.DatetimeIndex(dates)
    events = pd.DataFrame(
        {"bar": bars, "date": bars, "kind": "emergency_cut", "description": "test"}
    )
    return dataclasses.replace(panel, events=events)


def test_sixty_forty_ignores_fed_events():
    """Regression: the 60/40 baseline answered every event, so it also rebalanced after each
    Fed calendar event. It rebalances on its schedule (and enters at the start and when a leg
    lists), nothing else."""
    index = pd.bdate_range("2021-01-04", "2021-04-30")
    panel = make_panel({"SPY": random_walk(index, 7), "TLT": random_walk(index, 8, 0.005)})
    fed_days = [pd.Timestamp("2021-01-20"), pd.Timestamp("2021-03-17")]
    schedule = build_schedule(SixtyForty(), _with_fed_events(panel, fed_days))
    month_starts = [index[0], *index[1:][index[1:].month != index[:-1].month]]
    assert list(schedule.targets.index) == month_starts
    fed = schedule.log[schedule.log["kind"].str.startswith("fed:")]
    assert len(fed) == 2 and not fed["decided"].any()


def test_buy_and_hold_trades_once_whatever_the_events():
    index = pd.bdate_range("2021-01-04", "2021-04-30")
    panel = make_panel({"SPY": random_walk(index, 9)})
    panel = _with_fed_events(panel, [pd.Timestamp("2021-02-10")])
    schedule = build_schedule(BuyAndHold(), panel)
    assert list(schedule.targets.index) == [index[0]]


def test_levered_book_below_zero_keeps_trading():
    """Issue 15: a 3x long whose asset falls 40% is worth 1 + 3 x -0.4 = -0.2. It is broke
    at that close: closed out, wealth 0 (not -0.2, not trading back up), -100% on that bar."""
    days = pd.bdate_range("2030-01-01", periods=7)
    panel = make_panel({"A": [100.0, 100.0, 100.0, 60.0, 50.0, 80.0, 90.0]}, days)
    plan = targets({days[0]: {"A": 3.0}, days[4]: {"A": 3.0}}, ["A"])  # a later order too
    sim = simulate(panel, [plan], Costs(), start=days[0])
    # by hand: fills at days[1]'s close (100); wealth 1 until the 40% drop, then broke
    np.testing.assert_array_equal(sim.value.iloc[:, 0], [1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(sim.returns.iloc[:, 0], [0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0])
    weights = sim.weights[0]
    assert (weights.iloc[3:] == 0.0).all().all()  # nothing held from the bankrupt close on
    assert weights["A"].iloc[2] == pytest.approx(3.0)
    assert list(sim.fills[0].index) == [days[1]]  # the order decided after it never filled
    note = sim.bankrupt["run0"]
    assert note.startswith("bankrupt on 2030-01-04: equity fell to -0.2000 ")
    assert "(leverage 3.00x" in note


def test_a_bankrupt_set_leaves_the_other_sets_alone():
    days = pd.bdate_range("2030-01-01", periods=7)
    panel = make_panel({"A": [100.0, 100.0, 100.0, 60.0, 50.0, 80.0, 90.0]}, days)
    broke = targets({days[0]: {"A": 3.0}}, ["A"])
    fine = targets({days[0]: {"A": 1.0}, days[4]: {"A": 0.5}}, ["A"])
    together = simulate(panel, [broke, fine, broke], Costs(fees_bps=5), start=days[0])
    alone = simulate(panel, [fine], Costs(fees_bps=5), start=days[0])
    np.testing.assert_array_equal(together.value.iloc[:, 1], alone.value.iloc[:, 0])
    assert set(together.bankrupt) == {"run0", "run2"} and not alone.bankrupt

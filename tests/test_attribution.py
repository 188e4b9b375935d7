"""Attribution by leg and by rule (engine.reports.attribution), held to sums written out here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.core.simulate import Costs, accrual_index, simulate
from engine.reports import attribution
from tests.conftest import make_panel

DAYS = pd.date_range("2021-01-04", periods=6, freq="B")


def test_leg_contributions_are_previous_weight_times_return() -> None:
    weights = pd.DataFrame(
        {"A": [0.5, 0.5, 0.2, 0.0, 0.0, 0.3], "CASH": [0.5, 0.5, 0.8, 1.0, 1.0, 0.7]},
        index=DAYS,
    )
    returns = pd.DataFrame(
        {"A": [0.0, 0.1, -0.05, 0.02, 0.03, -0.01], "CASH": [0.0, 0.001] * 3}, index=DAYS
    )
    run = pd.Series([0.0, 0.05, -0.02, 0.0, 0.001, 0.0], index=DAYS)
    legs = attribution.leg_contributions(weights, returns, run)
    for leg in ("A", "CASH"):
        expected = sum(weights[leg].iloc[t - 1] * returns[leg].iloc[t] for t in range(1, len(DAYS)))
        assert legs[leg] == pytest.approx(expected, abs=1e-15)
    assert legs["costs"] == pytest.approx(run.sum() - legs["A"] - legs["CASH"], abs=1e-15)


def test_short_leg_return_includes_borrow() -> None:
    prices = pd.DataFrame({"T": [100.0, 101.0, 99.0, 99.0, 100.0, 98.0]}, index=DAYS)
    borrow = accrual_index(pd.Series(0.05, index=DAYS))
    cash = accrual_index(pd.Series(0.02, index=DAYS))
    out = attribution.instrument_returns(prices, cash, borrow, ["T", "T~short", "CASH"])
    level = prices["T"].to_numpy() * borrow.to_numpy()
    assert out["T~short"].iloc[1:].to_numpy() == pytest.approx(level[1:] / level[:-1] - 1)
    assert out["T~short"].iloc[3] > 0  # flat price: the short leg's price still grows
    assert out["CASH"].iloc[1:].to_numpy() == pytest.approx(
        cash.to_numpy()[1:] / cash.to_numpy()[:-1] - 1
    )


@pytest.mark.parametrize("fees_bps", [0.0, 25.0])
def test_legs_add_up_to_the_simulated_run(fees_bps: float) -> None:
    """Long A, short B (borrow charged), the rest in cash: the legs explain every bar's
    return; what is left is exactly the fees (none without fees, negative with)."""
    index = pd.date_range("2021-01-04", periods=40, freq="B")
    rng = np.random.default_rng(7)
    a = 100 * np.cumprod(1 + rng.normal(0, 0.01, 40))
    b = 50 * np.cumprod(1 + rng.normal(0, 0.01, 40))
    panel = make_panel({"A": list(a), "B": list(b)}, index, cash_rate_pct=3.0)
    targets = pd.DataFrame({"A": [0.6, 0.4], "B": [-0.3, -0.2]}, index=index[[0, 20]])
    costs = Costs(fees_bps=fees_bps, borrow_bps=200.0)
    sim = simulate(panel, [targets], costs)
    weights, returns = sim.weights[0], sim.returns.iloc[:, 0]
    borrow = accrual_index(pd.Series(costs.borrow_bps / 1e4, index=weights.index))
    cash = accrual_index(panel.cash_rate).reindex(weights.index)
    assets = attribution.instrument_returns(
        panel.prices.reindex(weights.index), cash, borrow, list(weights.columns)
    )
    legs = attribution.leg_contributions(weights, assets, returns)
    assert legs.drop("costs").sum() + legs["costs"] == pytest.approx(returns.sum(), abs=1e-12)
    if fees_bps == 0:
        assert legs["costs"] == pytest.approx(0.0, abs=1e-12)
    else:
        assert legs["costs"] < 0
    assert legs["B~short"] != 0


def test_rule_in_force_is_the_last_fill_before_the_bar() -> None:
    decisions = pd.DatetimeIndex([DAYS[0], DAYS[2], DAYS[3]])
    fills = pd.DatetimeIndex([DAYS[1], DAYS[4]])  # the DAYS[2] decision was superseded
    assert attribution.decision_of_fill(decisions, fills) == [0, 2]
    labels = attribution.state_labels(DAYS, fills, ["stance", "alarm"])
    assert labels.tolist() == ["", "", "stance", "stance", "stance", "alarm"]
    run = pd.Series([0.0, 0.01, 0.02, -0.01, 0.03, 0.001], index=DAYS)
    table = attribution.rule_contributions(run, labels)
    assert table.loc["stance", "bars"] == 3
    assert table.loc["stance", "sum"] == pytest.approx(0.02 - 0.01 + 0.03)
    assert table.loc["stance", "compounded"] == pytest.approx(1.02 * 0.99 * 1.03 - 1)
    assert table.loc["alarm", "sum"] == pytest.approx(0.001)

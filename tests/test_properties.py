"""Properties of the simulator on random markets and random target schedules (hypothesis).

- long-only weights summing to at most 1 never make wealth negative, whatever the prices;
- nor do levered long and short weights (up to 5x gross): a book that hits zero is bankrupt
  and stays at exactly 0, with no order filled after;
- right after each fill (zero costs) the realized weights are the targets;
- higher fees never leave more money;
- a zero-cost round trip at an unchanged price leaves wealth at exactly 1;
- turnover is the risky assets' traded notional over wealth, recomputed here from the
  weights, prices and wealth (CASH's side of each trade is not counted).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.core.simulate import Costs, simulate

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
SYMBOLS = ("AAA", "BBB", "CCC")
MIN_ORDER_UNITS = 1e-8  # vectorbt's portfolio.min_size: smaller orders are rejected


@pytest.fixture(scope="module", autouse=True)
def _warm_up_vectorbt() -> None:
    """Import vectorbt (it raises the recursion limit) before hypothesis watches the limit."""
    index = pd.date_range("2021-01-01", periods=3)
    market = pd.DataFrame({"AAA": [1.0, 2.0, 3.0]}, index=index)
    run(market, pd.DataFrame({"AAA": [1.0]}, index=index[:1]))


@st.composite
def markets(draw: st.DrawFn, min_bars: int = 6, max_bars: int = 40) -> pd.DataFrame:
    """Positive prices of 1-3 assets on a daily calendar: random log returns up to +-40%."""
    assets = draw(st.integers(1, len(SYMBOLS)))
    bars = draw(st.integers(min_bars, max_bars))
    moves = draw(
        st.lists(
            st.lists(st.floats(-0.4, 0.4, allow_nan=False), min_size=assets, max_size=assets),
            min_size=bars,
            max_size=bars,
        )
    )
    start = draw(st.floats(0.01, 1000.0))
    prices = start * np.exp(np.cumsum(np.asarray(moves), axis=0))
    index = pd.date_range("2021-01-01", periods=bars, name="date")
    return pd.DataFrame(prices, index=index, columns=list(SYMBOLS[:assets]))


@st.composite
def long_only_weights(draw: st.DrawFn, assets: int) -> np.ndarray:
    raw = np.asarray(draw(st.lists(st.floats(0, 1), min_size=assets, max_size=assets)))
    invested = draw(st.sampled_from([0.0, 1.0]) | st.floats(0, 1))
    total = raw.sum()
    return raw / total * invested if total > 0 else raw


@st.composite
def scheduled_markets(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A market and 1-5 long-only decisions (decision bar x weights, each sum <= 1)."""
    market = draw(markets())
    positions = sorted(draw(st.sets(st.integers(0, len(market) - 2), min_size=1, max_size=5)))
    rows = [draw(long_only_weights(market.shape[1])) for _ in positions]
    targets = pd.DataFrame(rows, index=market.index[positions], columns=market.columns)
    return market, targets


def run(market: pd.DataFrame, targets: pd.DataFrame, costs: Costs | None = None):
    costs = costs or Costs()
    panel = make_panel({symbol: market[symbol] for symbol in market.columns})
    return simulate(panel, [targets], costs, start=market.index[0])


costs_strategy = st.builds(
    Costs,
    fees_bps=st.floats(0, 200),
    slippage_bps=st.floats(0, 200),
    borrow_bps=st.floats(0, 500),
)


@SETTINGS
@given(scheduled_markets(), costs_strategy)
def test_wealth_never_goes_negative_without_leverage(schedule, costs):
    market, targets = schedule
    sim = run(market, targets, costs)
    value = sim.value.iloc[:, 0].to_numpy()
    assert np.isfinite(value).all()
    assert (value >= 0).all()
    assert value[0] == pytest.approx(1.0, abs=1e-12)  # nothing fills before the second bar


@st.composite
def levered_markets(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A market and 1-5 decisions of long and short weights up to 5x gross."""
    market = draw(markets())
    positions = sorted(draw(st.sets(st.integers(0, len(market) - 2), min_size=1, max_size=5)))
    weight = st.floats(-5, 5, allow_nan=False)
    rows = [
        draw(st.lists(weight, min_size=market.shape[1], max_size=market.shape[1]))
        for _ in positions
    ]
    targets = pd.DataFrame(rows, index=market.index[positions], columns=market.columns)
    return market, targets


@SETTINGS
@given(levered_markets(), costs_strategy)
def test_wealth_never_goes_negative_with_leverage(schedule, costs):
    market, targets = schedule
    sim = run(market, targets, costs)
    value = sim.value.iloc[:, 0].to_numpy()
    assert np.isfinite(value).all() and np.isfinite(sim.returns.to_numpy()).all()
    assert (value >= 0).all()
    broke = np.flatnonzero(value == 0.0)
    if len(broke):  # bankrupt: -100% on that bar, then wealth 0, nothing held
        assert (value[broke[0] :] == 0.0).all()
        assert sim.returns.iloc[broke[0], 0] == -1.0
        assert (sim.weights[0].iloc[broke[0] :].to_numpy() == 0.0).all()
        assert sim.bankrupt
    else:
        assert not sim.bankrupt


@SETTINGS
@given(scheduled_markets())
def test_weights_equal_the_targets_right_after_each_fill(schedule):
    market, targets = schedule
    sim = run(market, targets)
    weights, fills = sim.weights[0], sim.fills[0]
    assert len(fills) == len(targets)  # every asset trades every bar: each decision fills
    for bar, wanted in fills.iterrows():
        realized = weights.loc[bar, list(market.columns)].to_numpy()
        # up to the smallest order vectorbt places (min_size units; dust is not traded)
        dust = MIN_ORDER_UNITS * market.loc[bar].to_numpy() / sim.value.loc[bar].iloc[0]
        assert (np.abs(realized - wanted.to_numpy()) <= np.maximum(1e-9, dust)).all()
        # + CASH; a dust target left untraded stays in the account's cash, outside weights
        assert weights.loc[bar].sum() == pytest.approx(1.0, abs=max(1e-9, dust.sum()))


@SETTINGS
@given(scheduled_markets(), st.floats(0, 100), st.floats(0, 100), st.floats(0, 50))
def test_higher_fees_never_leave_more_money(schedule, low, extra, slippage_bps):
    market, targets = schedule
    cheap = run(market, targets, Costs(fees_bps=low, slippage_bps=slippage_bps))
    dear = run(market, targets, Costs(fees_bps=low + extra, slippage_bps=slippage_bps))
    cheap_value, dear_value = cheap.value.iloc[-1, 0], dear.value.iloc[-1, 0]
    assert dear_value <= cheap_value * (1 + 1e-12)


@SETTINGS
@given(markets(min_bars=8), st.data())
def test_a_zero_cost_round_trip_at_an_unchanged_price_leaves_wealth_at_one(market, data):
    bars = len(market)
    buy = data.draw(st.integers(1, bars - 3), label="buy fill bar")
    sell = data.draw(st.integers(buy + 1, bars - 1), label="sell fill bar")
    market = market.copy()
    market.iloc[sell] = market.iloc[buy]  # back where it was bought, whatever came between
    weights = data.draw(long_only_weights(market.shape[1]), label="weights")
    targets = pd.DataFrame(
        [weights, np.zeros(market.shape[1])],
        index=market.index[[buy - 1, sell - 1]],  # decided a bar before each fill
        columns=market.columns,
    )
    sim = run(market, targets)
    assert list(sim.fills[0].index) == list(market.index[[buy, sell]])
    assert sim.value.iloc[sell, 0] == pytest.approx(1.0, abs=1e-12)
    assert sim.value.iloc[-1, 0] == pytest.approx(1.0, abs=1e-12)  # all cash after the sale


@SETTINGS
@given(scheduled_markets(), st.floats(0, 100), st.floats(0, 100))
def test_turnover_is_risky_traded_notional_over_wealth(schedule, fees_bps, slippage_bps):
    market, targets = schedule
    sim = run(market, targets, Costs(fees_bps=fees_bps, slippage_bps=slippage_bps))
    wealth = sim.value.iloc[:, 0].to_numpy()
    expected = 0.0
    for symbol in market.columns:  # never CASH
        price = market[symbol].to_numpy()
        units = sim.weights[0][symbol].to_numpy() * wealth / price
        change = np.diff(units, prepend=0.0)  # all cash before the first bar
        fill_price = price * (1 + slippage_bps / 1e4 * np.sign(change))
        expected += (np.abs(change) * fill_price / wealth).sum()
    assert sim.turnover.iloc[0] == pytest.approx(expected, rel=1e-9, abs=1e-12)

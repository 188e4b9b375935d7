"""Properties every registered strategy must have: no look-ahead, determinism.

New strategies are covered automatically through the registry. The look-ahead property is
the public `engine.testing.assert_no_lookahead`, the one a user's own strategy is held to.
"""

from __future__ import annotations

import pandas as pd
import pytest

from engine.core.strategy import Context, Event, Strategy
from engine.runs.backtest import load_panel, make_source, run_backtest
from engine.runs.config import RunConfig
from engine.testing import (
    TruncatedSource,
    assert_batch_equals_walk,
    assert_no_lookahead,
    synthetic_market,
    tiny_panel,
    weights_on,
)
from strategies import REGISTRY

__all__ = ["TruncatedSource"]  # tests/test_lookahead_real.py imports it from here

CUTS = ["2031-03-15", "2032-04-30", "2032-10-04", "2033-06-30"]


@pytest.fixture(scope="module")
def synthetic():
    return synthetic_market()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_truncating_data_after_day_d_never_changes_a_weight_on_or_before_d(name, synthetic):
    config = RunConfig(strategy=name)
    assert_no_lookahead(REGISTRY[name](), synthetic, cuts=CUTS, config=config)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_same_config_and_data_give_identical_returns(name):
    config = RunConfig(strategy=name)
    first = run_backtest(config)
    second = run_backtest(config, source=make_source(config))
    pd.testing.assert_series_equal(first.returns, second.returns, check_exact=True)
    assert first.panel.content_hash() == second.panel.content_hash()
    assert first.stats == second.stats


class Peeking(Strategy):
    """Looks one bar ahead (a centered mean): what assert_no_lookahead exists to catch."""

    name = "peeking"
    thesis = "QQQ above its centered mean (uses tomorrow)."
    triggers = ("up",)

    def universe(self) -> tuple[str, ...]:
        return ("QQQ", "GLD")

    def signals(self, panel):
        price = panel.prices["QQQ"]
        up = (price > price.rolling(21, center=True).mean()).astype(float)
        return pd.DataFrame({"up": up}, index=panel.index)

    def on_event(self, event: Event, ctx: Context):
        return {"QQQ": 1.0} if ctx.signal("up") == 1.0 else {"GLD": 1.0}


def test_assert_no_lookahead_catches_a_centered_window(synthetic):
    with pytest.raises(
        AssertionError, match=r"data cut after .*: signal `up` on .*with all the data"
    ):
        assert_no_lookahead(Peeking(), synthetic)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_batch_decisions_equal_the_event_walk(name, synthetic):
    cls = REGISTRY[name]
    assert_batch_equals_walk([cls(), cls()], synthetic, config=RunConfig(strategy=name))


def test_tiny_panel_is_hand_checkable():
    panel = tiny_panel({"QQQ": [100.0, 101.0, 102.0], "GLD": [None, 50.0, 51.0]})
    assert list(panel.index.strftime("%a")) == ["Tue", "Wed", "Thu"]  # 2030-01-01 on
    assert panel.first_bar("GLD") == panel.index[1]
    weights = weights_on(
        REGISTRY["buy-and-hold"](REGISTRY["buy-and-hold"].Params(symbol="GLD")), panel
    )
    assert weights["GLD"].tolist() == [0.0, 1.0, 1.0]  # cash until GLD lists, then held


def test_load_panel_of_a_cut_source_ends_at_the_cut(synthetic):
    strategy = REGISTRY["60-40"]()
    panel = load_panel(RunConfig(strategy="60-40"), strategy, TruncatedSource(synthetic, CUTS[0]))
    assert panel.index[-1] <= pd.Timestamp(CUTS[0])

"""Properties every registered strategy must have: no look-ahead, determinism.

New strategies are covered automatically through the registry.
"""

from __future__ import annotations

import pandas as pd
import pytest

from engine.config import RunConfig
from engine.data.sources import SyntheticSource
from engine.run import load_panel, make_source, run_backtest
from engine.schedule import build_schedule
from strategies import REGISTRY


class TruncatedSource:
    """A source that knows nothing after `last`: what a user would have had on that day."""

    def __init__(self, inner, last: pd.Timestamp) -> None:
        self.inner, self.last = inner, last
        self.kind, self.synthetic = inner.kind, inner.synthetic

    def prices(self, symbol):
        frame = self.inner.prices(symbol)
        return frame.loc[: self.last]

    def macro(self, series_id):
        series = self.inner.macro(series_id)
        return None if series is None else series.loc[: self.last]

    def events(self):
        events = self.inner.events()
        return events[events["date"] <= self.last]

    def describe(self):
        return self.inner.describe()

    def regimes(self):
        return self.inner.regimes()


@pytest.fixture(scope="module")
def synthetic() -> SyntheticSource:
    return SyntheticSource(RunConfig(strategy="60-40").data.seed)


CUTS = ["2031-03-15", "2032-04-30", "2032-10-04", "2033-06-30"]


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_truncating_data_after_day_d_never_changes_a_weight_on_or_before_d(name, synthetic):
    config = RunConfig(strategy=name)
    strategy = REGISTRY[name]()
    full_panel = load_panel(config, strategy, synthetic)
    full = build_schedule(strategy, full_panel)
    for cut in map(pd.Timestamp, CUTS):
        panel = load_panel(config, strategy, TruncatedSource(synthetic, cut))
        assert panel.index[-1] <= cut
        seen = build_schedule(REGISTRY[name](), panel)
        pd.testing.assert_frame_equal(seen.targets, full.targets.loc[:cut], check_freq=False)
        pd.testing.assert_frame_equal(
            seen.signals, full.signals.loc[: panel.index[-1]], check_freq=False
        )


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_same_config_and_data_give_identical_returns(name):
    config = RunConfig(strategy=name)
    first = run_backtest(config)
    second = run_backtest(config, source=make_source(config))
    pd.testing.assert_series_equal(first.returns, second.returns, check_exact=True)
    assert first.panel.content_hash() == second.panel.content_hash()
    assert first.stats == second.stats

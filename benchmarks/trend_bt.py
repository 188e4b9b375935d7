"""The trend rule of `benchmarks/trend_rule.py` as a backtesting.py Strategy.

At module level because `Backtest.optimize` pickles the class to its worker processes.

Warm-up: playbook computes the rule's trend over all of QQQ's history and trades from the
window's start, entering the position the rule held then. backtesting.py does the same when
given the same history and `decide_from`, the bar before the window: the flags are unknown
(NaN) before it and backtesting.py, by its own warm-up rule, first calls `next()` on the bar
after an indicator's first value, so its first decision is at that bar's close and its first
fill at the window's first bar, as playbook's. Given only the window's bars (`decide_from`
0), its trend starts cold: long only once `lookback_bars` of the window have passed.
"""

from __future__ import annotations

import backtesting
import numpy as np
import pandas as pd

from benchmarks.trend_rule import uptrend


def up_flags(
    close: np.ndarray, lookback_bars: int, threshold_pct: float, decide_from: int = 0
) -> np.ndarray:
    """1.0 where the trend is up, 0.0 where not, NaN before the bar ahead of `decide_from`."""
    up = np.array(uptrend(pd.Series(close), lookback_bars, threshold_pct), dtype=float)
    up[: max(decide_from - 1, 0)] = np.nan
    return up


class TrendBT(backtesting.Strategy):
    """All in while the N-session change is above the threshold, flat otherwise."""

    lookback_bars = 60
    threshold_pct = 0.0
    decide_from = 0  # the first bar whose close decides (0: every bar of the data)

    def init(self) -> None:
        self.up = self.I(
            up_flags, self.data.Close, self.lookback_bars, self.threshold_pct, self.decide_from
        )

    def next(self) -> None:
        if self.up[-1] > 0:
            if not self.position:
                self.buy()
        elif self.position:
            self.position.close()

"""The trend rule of `benchmarks/trend_rule.py` as a backtesting.py Strategy.

At module level because `Backtest.optimize` pickles the class to its worker processes.
"""

from __future__ import annotations

import backtesting
import numpy as np
import pandas as pd

from benchmarks.trend_rule import uptrend


def up_flags(close: np.ndarray, lookback_bars: int, threshold_pct: float) -> np.ndarray:
    return uptrend(pd.Series(close), lookback_bars, threshold_pct).astype(float).to_numpy()


class TrendBT(backtesting.Strategy):
    """All in while the N-session change is above the threshold, flat otherwise."""

    lookback_bars = 60
    threshold_pct = 0.0

    def init(self) -> None:
        self.up = self.I(up_flags, self.data.Close, self.lookback_bars, self.threshold_pct)

    def next(self) -> None:
        if self.up[-1] > 0:
            if not self.position:
                self.buy()
        elif self.position:
            self.position.close()

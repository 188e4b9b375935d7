"""Where a run's return came from: per leg (instrument) and per rule (the decision in force).

Definitions (arithmetic, so the parts add up):
- a leg's contribution is the sum over bars t of w[t-1] x r[t], the instrument's end-of-bar
  weight on the previous bar times its simple return on bar t. Instruments are the run's
  weight columns: each symbol, each short leg `SYM~short` (negative weight; its price
  includes the borrow index, so borrow is inside its contribution) and `CASH` (the T-bill
  accrual; negative when levered).
- costs are what is left: sum of the run's returns minus the sum of the leg contributions
  (fees and slippage, charged on fill bars).
- a rule's contribution is the sum of the run's returns over the bars on which the
  positions set by a decision under that rule were held.

Pure functions of weights, prices and returns: no engine state, so a report can reuse them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COSTS = "costs"


def instrument_returns(
    prices: pd.DataFrame, cash_index: pd.Series, borrow_index: pd.Series, columns: list[str]
) -> pd.DataFrame:
    """Simple returns per bar of each weight column: symbols from `prices` (carried over
    bars they do not trade), `SYM~short` from price x `borrow_index`, `CASH` from
    `cash_index` (growth of 1 at the cash rate)."""
    out = {}
    for column in columns:
        if column == "CASH":
            level = cash_index
        elif column.endswith("~short"):
            level = prices[column.removesuffix("~short")] * borrow_index
        else:
            level = prices[column]
        out[column] = level.ffill().pct_change(fill_method=None).fillna(0.0)
    return pd.DataFrame(out, index=prices.index)


def leg_returns(weights: pd.DataFrame, asset_returns: pd.DataFrame) -> pd.DataFrame:
    """Per bar and weight column, the previous bar's weight x the bar's return."""
    held = weights.shift(1).fillna(0.0)
    return held * asset_returns[weights.columns].reindex(weights.index).fillna(0.0)


def leg_contributions(
    weights: pd.DataFrame, asset_returns: pd.DataFrame, returns: pd.Series
) -> pd.Series:
    """Sum over bars of the previous bar's weight x the bar's return, per weight column,
    plus `costs`: the run's summed returns that no leg explains."""
    legs = leg_returns(weights, asset_returns).sum()
    legs[COSTS] = float(returns.sum()) - float(legs.sum())
    return legs


def state_labels(
    index: pd.DatetimeIndex, fill_bars: pd.DatetimeIndex, labels: list[str]
) -> pd.Series:
    """For each bar, the label of the last fill before it (whose positions the bar's return
    is earned on); "" before the first fill."""
    fills = pd.Series(labels, index=fill_bars).sort_index()
    position = np.searchsorted(fills.index.to_numpy(), index.to_numpy(), side="left") - 1
    values = [fills.iloc[p] if p >= 0 else "" for p in position]
    return pd.Series(values, index=index, dtype="object")


def rule_contributions(returns: pd.Series, labels: pd.Series) -> pd.DataFrame:
    """Per label: bars held, summed return and compounded return over those bars."""
    frame = pd.DataFrame({"r": returns, "label": labels.reindex(returns.index).fillna("")})
    rows = {}
    for label, part in frame.groupby("label", sort=True):
        rows[label] = {
            "bars": len(part),
            "sum": float(part["r"].sum()),
            "compounded": float((1 + part["r"]).prod() - 1),
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def decision_of_fill(decision_times: pd.DatetimeIndex, fill_bars: pd.DatetimeIndex) -> list[int]:
    """For each fill, the position of the latest decision before it (a decision fills on a
    later bar; one superseded while waiting never fills)."""
    times = decision_times.sort_values().to_numpy()
    return [int(np.searchsorted(times, bar, side="left") - 1) for bar in fill_bars.to_numpy()]

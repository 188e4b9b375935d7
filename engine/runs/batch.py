"""The one batch pipeline of sweeps and scenarios: many (parameter sets, panel) pairs.

A sweep is many sets on one panel; a scenario run is one set on many path panels. Both go
through `run_batch`: decisions per pair (`engine.core.schedule.decide_all`, which takes a
strategy's `decide_many` batch path where it has one), one kernel call for every set
(`engine.core.simulate.simulate_sets`), then the headline numbers of every set in one numba
pass per panel (`engine.core.metrics.summary_arrays`).

What sets on one panel share (its signal source, its window's cash returns, bars per year and
span) is a `SharedPanel`, built once per panel by the caller and passed in explicitly: no
module-level cache keyed by panel objects, so nothing outlives the work that needs it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.schedule import decide_all
from engine.core.signals import MissingInputWarning
from engine.core.simulate import Costs, SetResults, simulate_sets
from engine.core.strategy import SignalSource, Strategy
from engine.runs.backtest import cash_return_values, cash_returns


class OwnSignals:
    """The plain signal source: each set computes its own `signals(panel)` (a scenario path
    has one set, so there is nothing to share; a sweep passes its `SignalMemo` instead)."""

    def __init__(self, panel: Panel) -> None:
        self.panel = panel.for_strategy()  # what the set's code sees (Panel.for_strategy)

    def signals(self, strategy: Strategy) -> pd.DataFrame:
        return strategy.signals(self.panel)

    def measures(self, strategy: Strategy) -> Any | None:
        return None


@dataclass(frozen=True, eq=False)
class SharedPanel:
    """What every set run on one panel reuses, built once per panel and passed explicitly."""

    panel: Panel
    signals: SignalSource  # where the sets get their signals (a sweep: a SignalMemo)
    window: pd.DatetimeIndex  # the reported bars (from panel.window_start)
    cash: np.ndarray  # what idle cash earned on each bar of the window
    ppy: float  # the window's bars per calendar year
    span: float  # the window's years

    @classmethod
    def of(cls, panel: Panel, signals: SignalSource | None = None) -> SharedPanel:
        start = panel.window_start
        first = panel.index.searchsorted(start) if start is not None else 0
        window = panel.index[first:]
        return cls(
            panel=panel,
            signals=OwnSignals(panel) if signals is None else signals,
            window=window,
            cash=_window_cash(panel, window, first),
            ppy=metrics.periods_per_year(window),
            span=metrics.years(window),
        )


def _window_cash(panel: Panel, window: pd.DatetimeIndex, first: int) -> np.ndarray:
    """`cash_returns(panel, window)` as an array; by position when the cash rate is on the
    panel's own calendar (it is, from `build_panel`), so no lookup by date."""
    if panel.cash_rate.index.equals(panel.index):
        return cash_return_values(panel.cash_rate)[first:]
    return cash_returns(panel, window).to_numpy()


@dataclass(frozen=True)
class Batch:
    """Every set of a batch, set after set in the order of the pairs given."""

    sim: SetResults
    shares: tuple[SharedPanel, ...]  # one per pair
    share_of: np.ndarray  # per set: which pair (and so which panel) it ran on
    table: dict[str, np.ndarray]  # summary_arrays per set: total_return, cagr, ..., final_wealth

    def cash(self, s: int) -> np.ndarray:
        return self.shares[int(self.share_of[s])].cash


def run_batch(
    pairs: Sequence[tuple[Sequence[Strategy], SharedPanel]],
    costs: Costs,
    leverage_cap: float,
    *,
    keep_weights: bool = False,
    on_decline: Callable[[str], None] | None = None,
) -> Batch:
    """Decide, simulate and summarize every set of every (sets, shared panel) pair.

    The panels must share one calendar and window start (one panel for a sweep, the paths of
    one scenario for a scenario run). `on_decline` hears each distinct reason a strategy's
    batch path gave for declining, once per call (a scenario chunk asks once per path): the
    caller turns it into its one note per run.
    """
    if not pairs:
        raise ValueError("no (sets, panel) pairs to run")
    parts: list[Decisions] = []
    heard: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        for strategies, shared in pairs:
            parts.append(
                decide_all(
                    strategies,
                    shared.panel,
                    leverage_cap,
                    signals=shared.signals,
                    on_decline=heard.append,
                )
            )
    if on_decline is not None:
        for reason in dict.fromkeys(heard):
            on_decline(reason)
    counts = [part.sets for part in parts]
    share_of = np.repeat(np.arange(len(pairs)), counts)
    shares = tuple(shared for _, shared in pairs)
    decisions = parts[0] if len(parts) == 1 else Decisions.concat(parts)
    panels: Panel | list[Panel] = (
        shares[0].panel if len(shares) == 1 else [shares[k].panel for k in share_of]
    )
    sim = simulate_sets(
        panels, decisions, costs, start=shares[0].panel.window_start, keep_weights=keep_weights
    )
    table = _summaries(sim.returns, shares, counts)
    return Batch(sim=sim, shares=shares, share_of=share_of, table=table)


def _summaries(
    returns: np.ndarray, shares: Sequence[SharedPanel], counts: Sequence[int]
) -> dict[str, np.ndarray]:
    """summary_arrays of every set against its own panel's cash: one numba pass per panel
    (a sweep has one panel; a scenario chunk one per path, each with its own cash rate)."""
    parts = []
    first = 0
    for shared, count in zip(shares, counts, strict=True):
        rows = returns[first : first + count]
        if len(shared.cash) != rows.shape[1]:
            raise ValueError("the simulated window is not the panel's window")
        parts.append(metrics.summary_arrays(rows, shared.cash, shared.span, shared.ppy))
        first += count
    if len(parts) == 1:
        return parts[0]
    return {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

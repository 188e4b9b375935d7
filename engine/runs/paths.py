"""A playbook on many scenario paths: every path a column group of one vectorbt call.

Each path is a whole generated market (prices, macro, events) on one shared calendar. For a
chunk of paths the engine builds each path's panel and schedule (the strategy decides on that
path's data only), then simulates the chunk in a single vectorbt call and keeps, per path,
the headline numbers, the wealth curve and the exposure held in each scenario phase.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.regimes import Regime
from engine.core.schedule import build_schedule
from engine.core.signals import MissingInputWarning
from engine.core.simulate import Costs, simulate
from engine.errors import DataError
from engine.markets.source import MarketSource
from engine.markets.synthetic import SyntheticMarket
from engine.runs.backtest import (
    benchmark_returns,
    cash_returns,
    load_panel,
    make_strategy,
    window_start,
)
from engine.runs.config import RunConfig


@dataclass(frozen=True)
class ScenarioOutcome:
    config: RunConfig
    strategy: str
    scenario: str
    seed: int
    wealth: pd.DataFrame  # window x paths: growth of 1
    benchmark_wealth: pd.DataFrame | None
    per_path: pd.DataFrame  # one row per path: outcome numbers and exposure per phase
    regimes: tuple[Regime, ...]
    periods_per_year: float  # bars per calendar year of the window (engine.core.metrics)
    median_path: int
    median_returns: pd.Series
    median_benchmark: pd.Series | None
    median_cash: pd.Series

    @property
    def paths(self) -> int:
        return self.wealth.shape[1]


def run_paths(
    config: RunConfig,
    markets: Sequence[SyntheticMarket],
    scenario: str,
    seed: int,
    chunk_paths: int = 100,
    on_chunk: Callable[[int, int], None] | None = None,
) -> ScenarioOutcome:
    """Run `config`'s playbook on every market; markets must share a calendar."""
    if not markets:
        raise DataError("no scenario paths to run", "ask for --paths 1 or more")
    costs = Costs(config.costs.fees_bps, config.costs.slippage_bps, config.costs.borrow_bps)
    wealth, bench, rows = [], [], []
    regimes: tuple[Regime, ...] = ()
    kept: dict[int, tuple[pd.Series, pd.Series | None, pd.Series]] = {}
    ppy = float("nan")  # set from the first chunk's window (the paths share a calendar)
    for first in range(0, len(markets), chunk_paths):
        chunk = range(first, min(first + chunk_paths, len(markets)))
        panels, plans = [], []
        for i in chunk:
            strategy = make_strategy(config)
            panel = load_panel(config, strategy, MarketSource(markets[i], scenario, seed, i))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MissingInputWarning)
                plans.append(build_schedule(strategy, panel, config.leverage_cap).targets)
            panels.append(panel)
            if on_chunk is not None:  # progress moves per path decided, not per chunk
                on_chunk(i, len(markets))
        start = window_start(config, panels[0])
        regimes = panels[0].regimes
        sim = simulate(panels, plans, costs, start=start, names=[str(i) for i in chunk])
        ppy = metrics.periods_per_year(pd.DatetimeIndex(sim.returns.index))
        for column, i in enumerate(chunk):
            returns = sim.returns.iloc[:, column]
            cash = cash_returns(panels[column], returns.index)
            bench_returns = benchmark_returns(config, panels[column], returns.index)
            rows.append(
                _path_row(i, returns, bench_returns, cash, sim.weights[column], regimes, ppy)
            )
            wealth.append((1 + returns).cumprod().rename(i))
            if bench_returns is not None:
                bench.append((1 + bench_returns).cumprod().rename(i))
            kept[i] = (returns, bench_returns, cash)
        if on_chunk is not None:
            on_chunk(chunk.stop, len(markets))
    per_path = pd.DataFrame(rows).set_index("path")
    median = _median_path(per_path)
    returns, bench_returns, cash = kept[median]
    return ScenarioOutcome(
        config=config,
        strategy=make_strategy(config).name,  # a file spec's strategy by its name, not path
        scenario=scenario,
        seed=seed,
        wealth=pd.concat(wealth, axis=1),
        benchmark_wealth=pd.concat(bench, axis=1) if bench else None,
        per_path=per_path,
        regimes=regimes,
        periods_per_year=ppy,
        median_path=median,
        median_returns=returns,
        median_benchmark=bench_returns,
        median_cash=cash,
    )


def _path_row(
    path: int,
    returns: pd.Series,
    benchmark: pd.Series | None,
    cash: pd.Series,
    weights: pd.DataFrame,
    regimes: tuple[Regime, ...],
    ppy: float,
) -> dict[str, float]:
    row: dict[str, float] = {"path": path}
    for key, value in metrics.summary(returns, ppy, cash).items():
        row[key] = value
    if benchmark is not None:
        for key in ("final_wealth", "cagr", "max_drawdown"):
            row[f"benchmark_{key}"] = metrics.summary(benchmark, ppy, cash)[key]
        row["beat_benchmark"] = float(row["final_wealth"] > row["benchmark_final_wealth"])
    exposure = metrics.gross_exposure(weights)
    for regime in regimes:
        inside = (exposure.index > pd.Timestamp(regime.start)) & (
            exposure.index <= pd.Timestamp(regime.end)
        )
        row[f"exposure.{regime.name}"] = float(exposure[inside].mean()) if inside.any() else np.nan
    return row


def _median_path(per_path: pd.DataFrame) -> int:
    """The path whose final wealth is the median (the lower middle one for an even count)."""
    order = per_path["final_wealth"].sort_values(kind="stable")
    return int(order.index[(len(order) - 1) // 2])


def percentiles(frame: pd.DataFrame, qs: Sequence[float] = (5, 25, 50, 75, 95)) -> pd.DataFrame:
    """Per-bar percentiles of many wealth paths (for the fan chart)."""
    values = np.percentile(frame.to_numpy(), list(qs), axis=1).T
    return pd.DataFrame(values, index=frame.index, columns=[f"p{int(q)}" for q in qs])


def summary_table(outcome: ScenarioOutcome) -> pd.DataFrame:
    """Distribution of outcomes: percentiles of CAGR, max drawdown and final wealth."""
    columns = {"CAGR": "cagr", "max drawdown": "max_drawdown", "final wealth": "final_wealth"}
    if outcome.benchmark_wealth is not None:
        columns.update(
            {
                "benchmark CAGR": "benchmark_cagr",
                "benchmark max drawdown": "benchmark_max_drawdown",
                "benchmark final wealth": "benchmark_final_wealth",
            }
        )
    table = {}
    for label, key in columns.items():
        values = outcome.per_path[key].to_numpy(dtype=float)
        table[label] = {f"p{q}": float(np.nanpercentile(values, q)) for q in (5, 25, 50, 75, 95)}
    return pd.DataFrame(table).T

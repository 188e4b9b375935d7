"""A playbook on many scenario paths: every path a column group of one vectorbt call.

Each path is a whole generated market (prices, macro, events) on one shared calendar. For a
chunk of paths the engine builds each path's panel and schedule (the strategy decides on that
path's data only), then simulates the chunk in a single vectorbt call and keeps, per path,
the headline numbers, the wealth curve and the exposure held in each scenario phase.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.panel import Panel, column_values
from engine.core.regimes import Regime
from engine.core.strategy import Strategy, fresh
from engine.errors import ConfigError, DataError
from engine.markets.generator import CHUNK_PATHS, PathSequence
from engine.markets.model import Scenario
from engine.markets.source import MarketSource
from engine.markets.synthetic import SyntheticMarket
from engine.runs.backtest import (
    benchmark_returns,
    cash_returns,
    costs_of,
    load_panel,
    make_strategy,
    window_start,
)
from engine.runs.batch import Batch, SharedPanel, run_batch
from engine.runs.cluster import check_executor, run_on_cluster
from engine.runs.config import RunConfig
from engine.runs.path_panels import PathPanels


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
    notes: tuple[str, ...] = ()  # for the user: e.g. the median path run again differed

    @property
    def paths(self) -> int:
        return self.wealth.shape[1]


@dataclass(frozen=True)
class GeneratedPaths:
    """The regime model's paths as the plain data that makes them: any path, or chunk of
    paths, is made again from this alone (each path draws from its own stream), so a dask
    worker is sent this rather than markets."""

    scenario: Scenario
    count: int
    seed: int
    symbols: tuple[str, ...]

    def markets(self, chunk_paths: int = CHUNK_PATHS) -> PathSequence:
        """The paths, made `chunk_paths` at a time as they are read."""
        return PathSequence(self.scenario, self.count, self.seed, self.symbols, chunk_paths)


@dataclass(frozen=True)
class PathsChunk:
    """What one chunk of paths leaves behind (plain data a dask worker sends back)."""

    paths: range
    rows: list[dict[str, float]]  # a row per path: headline numbers, exposure per phase
    wealth: np.ndarray  # bars x paths: growth of 1
    benchmark_wealth: np.ndarray | None


@dataclass(frozen=True)
class FirstPath:
    """Path 0's panel and the row maps taken from it: every path's window starts where path
    0's does, and paths of its kind are filled from its row maps (`PathPanels`)."""

    panel: Panel
    builder: PathPanels


LOCAL_CHUNK_PATHS, CLUSTER_CHUNK_PATHS = 100, 250  # paths per kernel call, here / on dask


def run_paths(
    config: RunConfig,
    markets: Sequence[SyntheticMarket] | GeneratedPaths,
    scenario: str,
    seed: int,
    chunk_paths: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
    *,
    executor: str = "local",
    scheduler: str | None = None,
) -> ScenarioOutcome:
    """Run `config`'s playbook on every market; markets must share a calendar.

    Paths go through the batch pipeline a sweep uses (`engine.runs.batch`) a chunk at a time
    (`run_chunk`): per chunk its panels, decisions, one kernel call and the headline numbers
    in one pass; only the per-path rows and wealth curves are kept, so the working memory is
    one chunk's (`markets` may be a lazy sequence that generates its paths as they are asked
    for). With `executor="dask"` the chunks run on a dask cluster (`engine.runs.cluster`);
    `markets` must then be `GeneratedPaths`, which a worker can make its chunk's paths from.
    `chunk_paths` defaults to 100 here and 250 on a cluster, where each chunk also re-makes
    path 0 on its worker (~0.1 s); a path's numbers do not depend on its chunk.
    """
    check_executor(executor, scheduler)
    count = markets.count if isinstance(markets, GeneratedPaths) else len(markets)
    if not count:
        raise DataError("no scenario paths to run", "ask for --paths 1 or more")
    if executor == "dask" and not isinstance(markets, GeneratedPaths):
        raise ConfigError(
            "only generated paths (GeneratedPaths) can run on dask: a worker makes its chunk's "
            "paths from plain data",
            "drop --executor dask, or use --generator regime",
        )
    local = markets.markets() if isinstance(markets, GeneratedPaths) else markets
    # resolved once: resolving a name reads the installed entry points (a third of a path)
    proto = make_strategy(config)
    first = first_path(config, proto, local, scenario, seed)
    if chunk_paths is None:
        chunk_paths = CLUSTER_CHUNK_PATHS if executor == "dask" else LOCAL_CHUNK_PATHS
    chunks = [range(k, min(k + chunk_paths, count)) for k in range(0, count, chunk_paths)]
    if executor == "dask":
        assert isinstance(markets, GeneratedPaths)
        config_json = config.canonical_json()
        work = ((c, (config_json, markets, scenario, seed, c, chunk_paths)) for c in chunks)
        results: Iterable[tuple[range, PathsChunk]] = run_on_cluster(
            scheduler, run_generated_chunk, work
        )
    else:
        results = (
            (c, run_chunk(config, proto, local, scenario, seed, c, first, on_chunk)) for c in chunks
        )
    wealth: np.ndarray | None = None  # window x paths, filled a chunk of columns at a time
    bench: np.ndarray | None = None
    rows: dict[int, list[dict[str, float]]] = {}  # by first path: chunks may come in any order
    done = 0
    for chunk, found in results:
        if wealth is None:  # the window is known once the first chunk is
            wealth = np.empty((found.wealth.shape[0], count))
            bench = np.empty_like(wealth) if found.benchmark_wealth is not None else None
        rows[chunk.start] = found.rows
        wealth[:, chunk.start : chunk.stop] = found.wealth
        if bench is not None:
            assert found.benchmark_wealth is not None
            bench[:, chunk.start : chunk.stop] = found.benchmark_wealth
        done += len(chunk)
        if on_chunk is not None:
            on_chunk(done, count)
    assert wealth is not None
    shared = SharedPanel.of(first.panel)
    per_path = pd.DataFrame([row for k in sorted(rows) for row in rows[k]]).set_index("path")
    median = _median_path(per_path)
    returns, bench_returns, cash = _median_series(
        config, fresh(proto), local[median], scenario, seed, median, first.panel
    )
    # path 0 (run first, from a clean class) and the median path, run again alone after all
    # the others, must grow as their columns did, bit for bit
    first_again = run_batch([([fresh(proto)], shared)], costs_of(config), config.leverage_cap)
    differs = [
        path
        for path, again in ((0, first_again.sim.returns[0]), (median, returns.to_numpy()))
        if not np.array_equal(
            np.cumprod(1.0 + again).view(np.int64), wealth[:, path].view(np.int64)
        )
    ]
    notes = (PATH_ALONE_DIFFERS.format(name=proto.name, path=differs[0]),) if differs else ()
    paths = pd.Index(np.arange(count, dtype=np.int64))
    return ScenarioOutcome(
        config=config,
        strategy=proto.name,  # a file spec's strategy by its name, not path
        scenario=scenario,
        seed=seed,
        wealth=_frame(wealth, shared.window, paths),
        benchmark_wealth=_frame(bench, shared.window, paths) if bench is not None else None,
        per_path=per_path,
        regimes=first.panel.regimes,
        periods_per_year=shared.ppy,
        median_path=median,
        median_returns=returns,
        median_benchmark=bench_returns,
        median_cash=cash,
        notes=notes,
    )


PATH_ALONE_DIFFERS = (
    "{name}: path {path} run again alone decides differently than it did among "
    "the other paths, so each path's numbers depend on the paths run before it (state kept "
    "on the class or in a module, unseeded randomness?); `playbook check` names the first "
    "difference"
)


def first_path(
    config: RunConfig,
    proto: Strategy,
    markets: Sequence[SyntheticMarket],
    scenario: str,
    seed: int,
) -> FirstPath:
    """Path 0's panel (by `build_panel`) and its row maps."""
    market = markets[0]
    panel = _path_panel(config, fresh(proto), market, scenario, seed, 0, None)
    cash = config.costs.cash_yield, config.costs.cash_rate_pct
    return FirstPath(panel, PathPanels(panel, market, *cash))


def run_chunk(
    config: RunConfig,
    proto: Strategy,
    markets: Sequence[SyntheticMarket],
    scenario: str,
    seed: int,
    chunk: range,
    first: FirstPath,
    on_path: Callable[[int, int], None] | None = None,
) -> PathsChunk:
    """One chunk of paths, wherever it runs: each path's panel and fresh strategy, one batch
    call, then a row per path and the chunk's wealth curves (a path's numbers do not
    depend on its chunk)."""
    costs = costs_of(config)
    pairs = []
    panel = first.panel
    for i in chunk:
        strategy = fresh(proto)
        if i:  # path 0's panel is first.panel itself
            panel = _path_panel(
                config, strategy, markets[i], scenario, seed, i, first.panel, first.builder
            )
        pairs.append(([strategy], SharedPanel.of(panel)))
        if on_path is not None:  # progress moves per path decided, not per chunk
            on_path(i, len(markets))
    batch = run_batch(pairs, costs, config.leverage_cap)
    bench_returns = _benchmark_rows(config, batch) if config.benchmark is not None else None
    return PathsChunk(
        paths=chunk,
        rows=_chunk_rows(chunk, batch, panel.regimes, bench_returns),
        wealth=np.cumprod(1.0 + batch.sim.returns, axis=1).T,
        benchmark_wealth=(
            np.cumprod(1.0 + bench_returns, axis=1).T if bench_returns is not None else None
        ),
    )


def run_generated_chunk(
    config_json: str,
    paths: GeneratedPaths,
    scenario: str,
    seed: int,
    chunk: range,
    chunk_paths: int,
) -> PathsChunk:
    """`run_chunk` from plain data (what a dask worker is sent): the chunk's paths and path
    0 are made again here, so the chunk is the one a local run computes, bit for bit."""
    config = RunConfig.model_validate_json(config_json)
    proto = make_strategy(config)
    first = first_path(config, proto, paths.markets(1), scenario, seed)
    markets = paths.markets(chunk_paths)  # the chunk's paths made together, and no others
    return run_chunk(config, proto, markets, scenario, seed, chunk, first)


def _path_panel(
    config: RunConfig,
    strategy: Strategy,
    market: SyntheticMarket,
    scenario: str,
    seed: int,
    path: int,
    first: Panel | None,
    builder: PathPanels | None = None,
) -> Panel:
    """Path `path`'s panel, its window starting where the first path's does (one calendar):
    from the first path's row maps when `builder` covers it, else by `build_panel`."""
    source = MarketSource(market, scenario, seed, path)
    if builder is not None:
        found = builder.panel(market, source.describe())
        if found is not None:
            return found
    panel = load_panel(config, strategy, source)
    start = window_start(config, panel if first is None else first)
    return dataclasses.replace(panel, window_start=start)


def _chunk_rows(
    chunk: range,
    batch: Batch,
    regimes: tuple[Regime, ...],
    bench_returns: np.ndarray | None,
) -> list[dict[str, float]]:
    """One row per path: the headline numbers, the benchmark's (`bench_returns`: paths x
    bars, None without a benchmark) and the exposure per phase."""
    table, sim = batch.table, batch.sim
    columns: dict[str, np.ndarray] = dict(table)  # metrics.summary_arrays' figures, in order
    if bench_returns is not None:
        window = batch.shares[0].window
        found = metrics.summary_arrays(
            bench_returns,
            np.zeros(len(window)),
            batch.shares[0].span,
            batch.shares[0].ppy,
        )
        for key in ("final_wealth", "cagr", "max_drawdown"):
            columns[f"benchmark_{key}"] = found[key]
        columns["beat_benchmark"] = (
            columns["final_wealth"] > columns["benchmark_final_wealth"]
        ).astype(float)
    index = sim.index
    for regime in regimes:
        inside = (index > pd.Timestamp(regime.start)) & (index <= pd.Timestamp(regime.end))
        columns[f"exposure.{regime.name}"] = (
            sim.gross[:, inside].mean(axis=1) if inside.any() else np.full(len(chunk), np.nan)
        )
    return [
        {"path": path, **{key: float(values[k]) for key, values in columns.items()}}
        for k, path in enumerate(chunk)
    ]


def _benchmark_rows(config: RunConfig, batch: Batch) -> np.ndarray:
    """paths x bars: each path's benchmark returns on the window, as `benchmark_returns`
    gives them (no back-fill, 0 on the first bar and where a price is missing), in one pass
    over the chunk's benchmark prices (the paths share one calendar and window)."""
    symbol = config.benchmark
    assert symbol is not None
    first = len(batch.shares[0].panel.index) - len(batch.shares[0].window)
    prices = np.stack(
        [column_values(shared.panel.prices, [symbol])[:, 0] for shared in batch.shares]
    )
    found = np.zeros((len(prices), len(batch.shares[0].window)))
    with np.errstate(divide="ignore", invalid="ignore"):
        found[:, 1:] = prices[:, first + 1 :] / prices[:, first:-1] - 1
    return np.where(np.isnan(found), 0.0, found)


def _median_series(
    config: RunConfig,
    strategy: Strategy,
    market: SyntheticMarket,
    scenario: str,
    seed: int,
    median: int,
    first: Panel,
) -> tuple[pd.Series, pd.Series | None, pd.Series]:
    """The median path's returns, benchmark and cash as series: that path is run again
    (a path's numbers do not depend on its chunk) rather than every path's series kept."""
    shared = SharedPanel.of(_path_panel(config, strategy, market, scenario, seed, median, first))
    batch = run_batch([([strategy], shared)], costs_of(config), config.leverage_cap)
    returns = pd.Series(batch.sim.returns[0], index=shared.window, name=str(median))
    bench = benchmark_returns(config, shared.panel, shared.window)
    cash = cash_returns(shared.panel, shared.window)
    return returns, bench, cash


def _frame(values: np.ndarray, window: pd.DatetimeIndex, paths: pd.Index) -> pd.DataFrame:
    """window x paths around `values` itself (not a copy: at 10,000 paths it is 175 MB)."""
    return pd.DataFrame(values, index=window, columns=paths, copy=False)


def _median_path(per_path: pd.DataFrame) -> int:
    """The path whose final wealth is the median (the lower middle one for an even count)."""
    order = per_path["final_wealth"].sort_values(kind="stable")
    return int(order.index[(len(order) - 1) // 2])


PERCENTILE_BARS = 256  # bars per np.percentile call: its working copy is this many rows


def percentiles(frame: pd.DataFrame, qs: Sequence[float] = (5, 25, 50, 75, 95)) -> pd.DataFrame:
    """Per-bar percentiles of many wealth paths (for the fan chart). Each bar's percentiles
    read that bar's row only, so they are taken a block of bars at a time: np.percentile
    sorts a copy of what it is given, and a block's copy is small where the whole frame's
    would be another window x paths."""
    values = frame.to_numpy()
    blocks = [
        np.percentile(values[k : k + PERCENTILE_BARS], list(qs), axis=1).T
        for k in range(0, len(values), PERCENTILE_BARS)
    ]
    found = np.concatenate(blocks) if blocks else np.empty((0, len(qs)))
    return pd.DataFrame(found, index=frame.index, columns=[f"p{int(q)}" for q in qs])


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

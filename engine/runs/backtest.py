"""One backtest, end to end in memory: config -> panel -> schedule -> simulation -> stats.

Writing the run folder is `engine.runs.store`; printing is the CLI's. This module does no I/O
beyond what the data source reads.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.core import metrics
from engine.core.panel import Panel
from engine.core.regimes import merge_regimes, regime_table
from engine.core.schedule import Schedule, build_schedule, unused_signals_note
from engine.core.signals import MissingInputWarning
from engine.core.simulate import Costs, Simulation, accrual_values, simulate
from engine.core.strategy import Strategy, inputs_of, universe_of
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import DirectorySource, Source
from engine.errors import ConfigError, DataError
from engine.io.yaml_models import validate
from engine.runs.config import RunConfig
from engine.runs.strategy_loader import StrategySource, absolute_spec, resolve

DROPPED_YEARS_TO_SUGGEST = 1.0  # a default start losing more of an older asset says --start


@dataclass(frozen=True)
class RunResult:
    config: RunConfig
    strategy: Strategy
    panel: Panel
    schedule: Schedule
    simulation: Simulation
    returns: pd.Series  # strategy returns on the reported window
    benchmark: pd.Series | None  # benchmark returns aligned by the engine on the same bars
    cash_returns: pd.Series  # what idle cash earned per bar
    periods_per_year: float  # bars per calendar year of the window (engine.core.metrics)
    stats: dict[str, object]
    signal_notes: tuple[str, ...] = ()  # inputs dropped from a signal for part of the window
    regimes: pd.DataFrame | None = None  # per-regime table (engine.core.regimes.regime_table)
    source: StrategySource | None = None  # which code the strategy came from (run.json)
    window_note: str = ""  # why the window starts where it does (the run's first line)
    author_notes: tuple[str, ...] = ()  # guard rails: e.g. signals that nothing reads

    @property
    def notes(self) -> tuple[str, ...]:
        first = (self.window_note,) if self.window_note else ()
        return (*first, *self.author_notes, *self.panel.notes, *self.signal_notes)

    @property
    def title(self) -> str:
        label = self.config.name or self.strategy.name
        first, last = self.returns.index[0].date(), self.returns.index[-1].date()
        prefix = "SYNTHETIC data: " if self.panel.synthetic else ""
        return f"{prefix}{label} ({self.strategy.name}) {first} to {last}"


def make_strategy(config: RunConfig, lines: dict | None = None, path: str = "config") -> Strategy:
    """The configured strategy with validated params (errors point at `params.<key>`)."""
    cls, _ = resolve(config.strategy)
    params = validate(cls.Params, config.params, lines or {}, path, prefix=("params",))
    strategy = cls(params)
    universe_of(strategy)  # a slip in universe() or inputs() is one line here, before any
    inputs_of(strategy)  # data loads
    return strategy


def make_source(config: RunConfig) -> Source:
    source: Source
    if config.data.source == "directory":
        assert config.data.path is not None  # the config model guarantees it
        source = DirectorySource(config.data.path)
    elif config.data.source == "yahoo":
        from engine.data.cache import DataCache
        from engine.data.online import OnlineSource

        cache = DataCache(config.data.cache)
        source = OnlineSource(cache, offline=config.data.offline, refresh=config.data.refresh)
    else:
        # imported here: the generator's numba kernels reserve ~1 GB of address space, and a
        # real-data run (or a sweep under a memory cap) should not pay for them
        from engine.markets.source import SyntheticSource

        source = SyntheticSource(config.data.seed, config.data.scenario)
    if config.data.proxies:
        from engine.data.proxies import ProxySource

        source = ProxySource(source, config.data.proxies)
    return source


def load_panel(config: RunConfig, strategy: Strategy, source: Source) -> Panel:
    universe = universe_of(strategy)
    if config.universe is not None:
        missing = [s for s in universe if s not in config.universe]
        if missing:
            raise ConfigError(
                f"universe lacks {', '.join(missing)}, which {strategy.name} trades",
                "add them to `universe:` or drop the key to use the strategy's own",
            )
        universe = tuple(config.universe)
    inputs = inputs_of(strategy)
    request = PanelRequest(
        traded=universe,
        inputs=inputs.symbols,
        macro=inputs.macro,
        benchmark=config.benchmark,
        calendar=config.data.calendar,
        end=pd.Timestamp(config.end) if config.end else None,
        cash_series=config.costs.cash_yield,
        cash_rate_pct=config.costs.cash_rate_pct,
        validation=config.data.validation,
        vintages=config.data.vintages,
    )
    prefetch = getattr(source, "prefetch", None)
    if prefetch is not None:  # real sources download all of a run's symbols in one batch
        prefetch(
            [*request.traded, *request.inputs, *([request.benchmark] if request.benchmark else [])],
            [*request.macro, *request.cash_series],
        )
    panel = build_panel(source, request)
    source_notes = tuple(getattr(source, "notes", ()))  # e.g. a corrupt cache file refetched
    if source_notes:
        panel = dataclasses.replace(panel, notes=(*source_notes, *panel.notes))
    return panel


def prepare(
    config: RunConfig,
    *,
    source: Source | None = None,
    lines: dict | None = None,
    config_path: str = "config",
) -> tuple[Strategy, Panel]:
    """The strategy and its panel, window start recorded: everything before simulation."""
    strategy = make_strategy(config, lines, config_path)
    panel = load_panel(config, strategy, source or make_source(config))
    return strategy, dataclasses.replace(panel, window_start=window_start(config, panel))


def run_backtest(
    config: RunConfig,
    *,
    source: Source | None = None,
    lines: dict | None = None,
    config_path: str = "config",
) -> RunResult:
    strategy, panel = prepare(config, source=source, lines=lines, config_path=config_path)
    _, origin = resolve(config.strategy)
    # record the resolved params and strategy, so the config hash means "same setup"
    config = config.model_copy(
        update={"params": strategy.p.model_dump(mode="json"), "strategy": origin.spec}
    )
    return run_prepared(config, strategy, panel, origin)


def run_prepared(
    config: RunConfig, strategy: Strategy, panel: Panel, origin: StrategySource | None = None
) -> RunResult:
    """Decide, simulate and measure a strategy on a panel whose window start is set."""
    start = panel.window_start
    assert start is not None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", MissingInputWarning)
        schedule = build_schedule(strategy, panel, config.leverage_cap)
    notes = tuple(
        dict.fromkeys(str(w.message) for w in caught if w.category is MissingInputWarning)
    )
    unused = unused_signals_note(strategy, schedule)
    sim = simulate(panel, [schedule.targets], costs_of(config), start=start, names=[strategy.name])
    notes = (*notes, *sim.bankrupt.values())  # a book that went broke says when and how
    returns = sim.returns.iloc[:, 0].rename(strategy.name)
    ppy = metrics.periods_per_year(pd.DatetimeIndex(returns.index))
    cash = cash_returns(panel, returns.index)
    benchmark = benchmark_returns(config, panel, returns.index)
    stats = run_stats(returns, benchmark, cash, sim, ppy)
    catalog = merge_regimes(panel.regimes, config.regimes)
    by_regime = regime_table(returns, benchmark, catalog)
    return RunResult(
        config,
        strategy,
        panel,
        schedule,
        sim,
        returns,
        benchmark,
        cash,
        ppy,
        stats,
        notes,
        by_regime,
        origin,
        window_explained(config, panel),
        (unused,) if unused else (),
    )


def window_start(config: RunConfig, panel: Panel) -> pd.Timestamp:
    """The configured start, or the first bar on which every traded asset has a price."""
    index = panel.index
    if config.start is None:
        start = max(panel.first_bar(s) or index[-1] for s in panel.tradable_symbols)
    else:
        start = pd.Timestamp(config.start)
    bars = int((index >= start).sum())
    if start > index[-1] or bars < 2:
        raise DataError(
            f"no data in the window from {config.start} (data ends {index[-1].date()})",
            "choose an earlier start or a data set that covers it",
        )
    if bars < MIN_WINDOW_BARS:  # returns, metrics and the tearsheet need a few bars
        raise DataError(
            f"the window from {start.date()} to {index[-1].date()} has {bars} bars; "
            f"at least {MIN_WINDOW_BARS} are needed",
            "widen the window (--start/--end) or use data that covers it",
        )
    return index[index >= start][0]


MIN_WINDOW_BARS = 3


def window_explained(config: RunConfig, panel: Panel) -> str:
    """Why the window starts where it does; `--start` suggested when the default start (the
    youngest traded asset's first bar) drops more than a year of an older one."""
    start = panel.window_start
    if start is None:
        return ""
    if config.start is not None:
        return f"window starts {start.date()} (the configured start)"
    firsts = {s: panel.first_bar(s) for s in panel.tradable_symbols}
    known = {s: t for s, t in firsts.items() if t is not None}
    if not known:
        return ""
    youngest = max(known, key=lambda s: known[s])
    oldest = min(known, key=lambda s: known[s])
    if known[youngest] == known[oldest]:
        which = youngest if len(known) == 1 else "every traded asset"
        return f"window starts {start.date()}, the first bar of {which}"
    text = (
        f"window starts {start.date()}, the first bar of {youngest} (by default the window "
        "starts when every traded asset has a price)"
    )
    dropped = (known[youngest] - known[oldest]).days / 365.25
    if dropped > DROPPED_YEARS_TO_SUGGEST:
        text += (
            f"; this drops {dropped:.1f} years of {oldest} (from {known[oldest].date()}): "
            f"pass --start {known[oldest].date()} to include them ({youngest} waits in cash "
            "until it lists)"
        )
    return text


def benchmark_returns(config: RunConfig, panel: Panel, index: pd.DatetimeIndex) -> pd.Series | None:
    """Benchmark returns on the strategy's bars: no back-fill, zero on days it does not trade."""
    if config.benchmark is None:
        return None
    price = panel.prices[config.benchmark]
    returns = price.pct_change(fill_method=None).loc[index]
    returns.iloc[0] = 0.0
    return returns.fillna(0.0).rename(config.benchmark)


def run_stats(
    returns: pd.Series,
    benchmark: pd.Series | None,
    cash: pd.Series,
    sim: Simulation,
    ppy: float,
    column: int = 0,
) -> dict[str, object]:
    """The stats of one simulated run (a column of `sim`); sweeps use the same function.

    `ppy` is the window's bars per calendar year (`metrics.periods_per_year`)."""
    weights = sim.weights[column]
    exposure = metrics.gross_exposure(weights)
    stats: dict[str, object] = {
        "start": str(returns.index[0].date()),
        "end": str(returns.index[-1].date()),
        "bars": len(returns),
        "periods_per_year": ppy,
        **metrics.summary(returns, ppy, cash),
        "time_in_market": metrics.time_in_market(exposure),
        "avg_gross_exposure": float(exposure.mean()),
        "turnover_per_year": float(sim.turnover.iloc[column] / max(metrics.years(returns), 1e-9)),
        "fills": len(sim.fills[column]),
        "cash_yield_avg": float(np.power(1 + cash.mean(), ppy) - 1) if len(cash) else 0.0,
    }
    if benchmark is not None:
        stats["benchmark"] = {"symbol": benchmark.name, **metrics.summary(benchmark, ppy, cash)}
    return stats


def cash_returns(panel: Panel, index: pd.DatetimeIndex) -> pd.Series:
    """What idle cash earned on each bar of `index`."""
    rate = panel.cash_rate
    return pd.Series(cash_return_values(rate), index=rate.index).loc[index]


def cash_return_values(rate: pd.Series) -> np.ndarray:
    """What idle cash earned on each bar of `rate`'s index: the accrual index's simple
    returns, 0 on the first bar (and wherever a return is undefined)."""
    growth = accrual_values(rate.to_numpy(dtype=np.float64), rate.index)
    found = np.full(len(growth), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        found[1:] = growth[1:] / growth[:-1] - 1
    return np.where(np.isnan(found), 0.0, found)


def default_config_for(strategy_name: str) -> RunConfig:
    """A run config with every default, for `playbook run <strategy>` without a file
    (a strategy file's relative path is taken from the current folder)."""
    spec = absolute_spec(strategy_name, Path.cwd())
    _, origin = resolve(spec)
    return RunConfig(strategy=origin.spec)


def config_label(path: Path | None, config: RunConfig) -> str:
    return config.name or (path.stem if path else config.strategy)


def symbols_for_config(config: RunConfig) -> tuple[list[str], list[str]]:
    """What a run of `config` loads: (Yahoo symbols, FRED ids), proxies included."""
    strategy = make_strategy(config)
    inputs = inputs_of(strategy)
    universe = config.universe if config.universe is not None else universe_of(strategy)
    symbols = [*universe, *inputs.symbols]
    if config.benchmark:
        symbols.append(config.benchmark)
    proxies = getattr(config.data, "proxies", None) or {}
    symbols += [proxy for symbol, proxy in proxies.items() if symbol in symbols]
    macro = [*inputs.macro, *config.costs.cash_yield]
    return list(dict.fromkeys(symbols)), list(dict.fromkeys(macro))


def costs_of(config: RunConfig) -> Costs:
    """The simulator's costs from a config's `costs:` (a run, a sweep's sets, scenario paths)."""
    return Costs(config.costs.fees_bps, config.costs.slippage_bps, config.costs.borrow_bps)

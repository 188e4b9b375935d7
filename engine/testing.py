"""Test helpers for strategy authors (and the built-ins' own tests): the engine's properties
as one-line assertions, and a tiny panel for hand-checked cases.

- `assert_no_lookahead(strategy, data)`: data known only up to day D (the source's files cut
  after D, not the panel cut afterwards) changes no signal, event or decision on or before D.
- `assert_repeatable(strategy, data)`: two runs in one process decide exactly alike.
- `assert_batch_equals_walk(strategies, data)`: a strategy's batch path (`decide_many`) gives
  exactly the decisions of walking each set's events, bit for bit (the one harness every
  batch path is held to).
- `tiny_panel({...})` and `weights_on(strategy, panel)`: a market you can check by hand.

Plain asserts with messages: they work under pytest and in a notebook. Importing this module
imports no test framework. `playbook check` runs the same checks on a config's data.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.schedule import Schedule, build_schedule, decide_all
from engine.core.signals import MissingInputWarning
from engine.core.strategy import SignalSource, Strategy
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import FrameSource, Source
from engine.data.truncated import TruncatedSource
from engine.markets.source import SyntheticSource
from engine.research.strategy_checks import (
    decisions_problem,
    lookahead_problem,
    repeat_problem,
    schedule_on,
)
from engine.runs.backtest import load_panel
from engine.runs.config import RunConfig

__all__ = [
    "TruncatedSource",
    "assert_batch_equals_walk",
    "assert_no_lookahead",
    "assert_repeatable",
    "config_for",
    "schedule_on",
    "synthetic_market",
    "tiny_panel",
    "weights_on",
]


def synthetic_market(seed: int | None = None) -> SyntheticSource:
    """The embedded synthetic market a config runs on by default (same seed)."""
    return SyntheticSource(RunConfig(strategy="-").data.seed if seed is None else seed)


def config_for(strategy: Strategy) -> RunConfig:
    """A config that loads exactly the strategy's own universe and inputs, no benchmark."""
    return RunConfig(strategy=strategy.name, benchmark=None)


def assert_no_lookahead(
    strategy: Strategy,
    data: Source | Any,
    cuts: Sequence[str | pd.Timestamp] | None = None,
    config: RunConfig | None = None,
) -> None:
    """Cut the data after each day D: signals, events and decisions on or before D must be
    exactly what the full data gave (`playbook check`'s look-ahead check). `data` is a source
    (e.g. `synthetic_market()`, a `DirectorySource`); `cuts` default to days at 20%, 45%,
    70% and 90% of the calendar plus each asset's first weeks (where warm-up code most often
    peeks ahead)."""
    problem, _ = lookahead_problem([strategy], config or config_for(strategy), data, cuts)
    assert problem is None, problem


def assert_repeatable(
    strategy: Strategy, data: Source | Panel | Any, config: RunConfig | None = None
) -> None:
    """The set decides exactly alike run twice in one process, each from a fresh instance
    (`playbook check`'s repeatable check): no state on the class, no unseeded randomness."""
    config = config or config_for(strategy)
    panel = data if isinstance(data, Panel) else load_panel(config, strategy, data)
    first = schedule_on(strategy, panel, config.leverage_cap)
    again = schedule_on(strategy, panel, config.leverage_cap)
    problem = repeat_problem(first, again, strategy.name)
    assert problem is None, problem


def assert_batch_equals_walk(
    strategies: Sequence[Strategy],
    data: Source | Panel | Any,
    config: RunConfig | None = None,
    *,
    leverage_cap: float | None = None,
    signals: SignalSource | None = None,
    require_batch: bool = False,
) -> list[Schedule]:
    """What a sweep decides for many sets equals walking each set's events with `on_event`:
    the same bars and bit-identical weights, set by set. Both the strategy's batch path
    (`decide_many`, unless it declines) and `decide_all` (what a sweep calls: the batch path
    or the shared-timeline walk) are held to `build_schedule` of each set on its own (its own
    signals, as `playbook run` computes them, so the sharing is held too; given `signals`,
    both sides take them). With `require_batch` a decline fails (its reason in the
    message): a test of a batch path must exercise it.

    `data` is a source (the panel is loaded as `config` says) or a Panel; `signals` defaults
    to a sweep's `SignalMemo` (signals and measures shared between sets). Sets share one
    universe. Returns each set's walked Schedule (to check which events the sets exercised).
    """
    from engine.sweep.shared_signals import SignalMemo

    if not strategies:
        raise ValueError("give at least one strategy (parameter set)")
    config = config or config_for(strategies[0])
    panel = data if isinstance(data, Panel) else load_panel(config, strategies[0], data)
    cap = config.leverage_cap if leverage_cap is None else leverage_cap
    source = signals if signals is not None else SignalMemo(panel)
    name, sets = strategies[0].name, list(strategies)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        batch = type(strategies[0]).decide_many(sets, panel, source, cap)
        declined = not isinstance(batch, Decisions)
        assert not (require_batch and declined), f"{name}: the batch path declined: {batch}"
        via_engine = decide_all(sets, panel, cap, source)
        # the reference: each set with its own signals (as `playbook run`), unless given
        walked = [_walk_alone(s, panel, cap, None if signals is None else source) for s in sets]
    paths = [(batch, "decide_many")] if isinstance(batch, Decisions) else []
    paths.append((via_engine, "decide_all"))
    for found, what in paths:
        problem = decisions_problem(found, walked, panel, sets)
        assert problem is None, f"{name}, {what}: {problem}"
    return walked


def _walk_alone(
    strategy: Strategy, panel: Panel, cap: float, given: SignalSource | None
) -> Schedule:
    """One set's schedule from a fresh state (the batch paths above walked it already):
    its own signals, or the given source's after a reset, as a sweep's walk takes them."""
    if given is None:
        return build_schedule(strategy, panel, cap)
    strategy.reset()
    return build_schedule(strategy, panel, cap, given.signals(strategy))


def tiny_panel(
    prices: dict[str, Sequence[float] | pd.Series],
    start: str = "2030-01-01",
    freq: str = "B",
    macro: dict[str, pd.Series] | None = None,
    cash_rate_pct: float = 0.0,
) -> Panel:
    """A panel from hand-written prices: lists run on business days from `start` (NaN before
    an asset lists); no Fed calendar, cash at `cash_rate_pct`. Window starts at the first bar."""
    longest = max((len(v) for v in prices.values()), default=0)
    index = pd.date_range(start, periods=longest, freq=freq)
    series = {
        symbol: values
        if isinstance(values, pd.Series)
        else pd.Series(np.asarray(values, dtype="float64"), index=index[: len(values)])
        for symbol, values in prices.items()
    }
    series = {s: v.dropna() for s, v in series.items()}
    request = PanelRequest(
        traded=tuple(prices),
        macro=tuple(macro or ()),
        cash_series=(),
        cash_rate_pct=cash_rate_pct,
    )
    panel = build_panel(FrameSource(series, macro=macro), request)
    return _with_start(panel)


def _with_start(panel: Panel) -> Panel:
    import dataclasses

    return dataclasses.replace(panel, window_start=panel.index[0])


def weights_on(strategy: Strategy, panel: Panel, leverage_cap: float = 1.0) -> pd.DataFrame:
    """The target weights in force after each bar's close (decisions carried forward; 0 before
    the first), on the panel's calendar: what to check by hand."""
    targets = schedule_on(strategy, panel, leverage_cap).targets
    return targets.reindex(panel.index).ffill().fillna(0.0)

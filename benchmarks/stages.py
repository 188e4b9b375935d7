"""Where a sweep's time goes: timers wrapped around the engine's stages, in this process only.

The wrappers replace module attributes for the duration of a `with stage_timers()` block (no
file is changed) and cost one `perf_counter` pair per call (a few calls per chunk, plus one
per set for signals). Stages, each exclusive of the timed stages nested in it:

- signals: `SignalMemo.signals` / `measures` and the strategy's own `signals` / `measures`
  (rolling windows, flags, stress score; shared between sets that read the same parameter
  values);
- decisions: `engine.core.schedule.decide_all` (the strategy's `decide_many` array fast path, or
  the event walk of `build_schedule` per set), signals excluded;
- fills: `engine.core.simulate._fills` (decision rows -> fill rows, numba);
- price tables: `engine.core.simulate._price_tables` (the instrument table shared by every set,
  cached per panel: paid once per sweep);
- kernel: `engine.core.simulate_kernel.simulate_nb` (vectorbt's order functions on fill bars);
- simulate, rest: the rest of `simulate_sets` (returns from wealth, the result arrays);
- metrics: the rest of `run_chunk` (column-wise metrics, block moments, in/out-of-sample
  summaries, the row table);
- write: the chunk's parquet file.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import time
from collections.abc import Callable, Iterator
from typing import Any

import engine.core.schedule
import engine.core.simulate
import engine.core.simulate_kernel
import engine.sweep.runner
import engine.sweep.shared_signals
from engine.runs.strategy_loader import get_strategy

STAGES = (
    "signals",
    "decisions",
    "fills",
    "price tables",
    "kernel",
    "simulate, rest",
    "metrics",
    "write",
)


class StageTimes:
    """Exclusive seconds per stage: time spent in a nested timed stage counts for that stage
    only (the kernel runs inside `simulate_sets`, signals inside `SignalMemo.signals`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.calls_by: dict[str, int] = {}  # per wrapped function, e.g. "HayesPivot.signals"
        self._nested: list[float] = []  # per open stage: seconds of the stages inside it

    def wrap(self, name: str, func: Callable[..., Any], label: str = "") -> Callable[..., Any]:
        label = label or name

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            self._nested.append(0.0)
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                inside = self._nested.pop()
                if self._nested:
                    self._nested[-1] += elapsed
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed - inside
                self.calls[name] = self.calls.get(name, 0) + 1
                self.calls_by[label] = self.calls_by.get(label, 0) + 1

        return timed

    def breakdown(self) -> dict[str, float]:
        return {stage: self.seconds.get(stage, 0.0) for stage in STAGES}


def _patches(strategy: str) -> list[tuple[Any, str, str]]:
    cls = get_strategy(strategy)
    patches: list[tuple[Any, str, str]] = [
        (engine.sweep.shared_signals.SignalMemo, "signals", "signals"),
        (engine.sweep.shared_signals.SignalMemo, "measures", "signals"),
        *_where_imported("decide_all", "decisions"),
        *_where_imported("simulate_sets", "simulate, rest"),
        (engine.sweep.runner, "run_chunk", "metrics"),
        (engine.sweep.runner, "_write_atomically", "write"),
        (engine.core.simulate, "_fills", "fills"),
        (engine.core.simulate, "_price_tables", "price tables"),
        (engine.core.simulate_kernel, "simulate_nb", "kernel"),
    ]
    # the strategy's own signal steps (a plain `simulate` run, or a memo miss, calls them)
    for klass in cls.__mro__:
        for attribute in ("signals", "measures"):
            if inspect.isfunction(klass.__dict__.get(attribute)):
                patches.append((klass, attribute, "signals"))
    return patches


# the modules a sweep calls decide_all and simulate_sets from (the chunk runner moved them
# into engine.runs.batch while the generic path was reworked): each one present is timed
CALLERS = ("engine.sweep.runner", "engine.runs.batch")


def _where_imported(attribute: str, stage: str) -> list[tuple[Any, str, str]]:
    found = []
    for name in CALLERS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if attribute in module.__dict__:
            found.append((module, attribute, stage))
    return found


@contextlib.contextmanager
def stage_timers(strategy: str = "hayes-pivot") -> Iterator[StageTimes]:
    times = StageTimes()
    saved = []
    try:
        for owner, attribute, name in _patches(strategy):
            original = owner.__dict__[attribute]
            saved.append((owner, attribute, original))
            label = f"{getattr(owner, '__name__', owner)}.{attribute}"
            setattr(owner, attribute, times.wrap(name, original, label))
        yield times
    finally:
        for owner, attribute, original in reversed(saved):
            setattr(owner, attribute, original)

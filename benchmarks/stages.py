"""Where a sweep's time goes: timers wrapped around the engine's stages, in this process only.

The wrappers replace module attributes for the duration of a `with stage_timers()` block (no
file is changed) and cost one `perf_counter` pair per call, a few microseconds per parameter
set. Stages:

- signals: the strategy's `signals(panel)` (rolling windows, flags, stress score);
- event walk: the rest of `build_schedule` (timeline, Context per event, `on_event`);
- fill schedule + arrays: `engine.simulate` turning decisions into fills and per-set
  instrument arrays (pandas, per set);
- vectorbt: the one `Portfolio.from_orders` call per chunk;
- simulate, rest: reading value, weights and turnover back out of the portfolio;
- metrics: `run_stats` per set, block moments, in/out-of-sample summaries, the row table;
- write: the chunk's parquet file.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import engine.simulate
import engine.sweep.runner
from strategies import get_strategy


class StageTimes:
    """Exclusive seconds per stage: time spent in a nested timed stage counts for that stage
    only (signals run inside `build_schedule` on a plain run and before it in a sweep)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._nested: list[float] = []  # per open stage: seconds of the stages inside it

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
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

        return timed

    def breakdown(self) -> dict[str, float]:
        s = self.seconds.get
        return {
            "signals": s("signals", 0.0),
            "event walk": s("schedule", 0.0),
            "fill schedule + arrays": s("fill_schedule", 0.0) + s("instrument_arrays", 0.0),
            "vectorbt": s("vectorbt", 0.0),
            "simulate, rest": s("simulate", 0.0),
            "metrics": s("chunk", 0.0),
            "write": s("write", 0.0),
        }


@contextlib.contextmanager
def stage_timers(strategy: str = "hayes-pivot") -> Iterator[StageTimes]:
    times = StageTimes()
    cls = get_strategy(strategy)
    patches: list[tuple[Any, str, str]] = [
        (cls, "signals", "signals"),
        (engine.sweep.runner, "build_schedule", "schedule"),
        (engine.sweep.runner, "simulate", "simulate"),
        (engine.sweep.runner, "run_chunk", "chunk"),
        (engine.sweep.runner, "_write_atomically", "write"),
        (engine.simulate, "fill_schedule", "fill_schedule"),
        (engine.simulate, "_instrument_arrays", "instrument_arrays"),
        (engine.simulate, "_run_vectorbt", "vectorbt"),
    ]
    saved = []
    for owner, attribute, name in patches:
        original = owner.__dict__[attribute]
        saved.append((owner, attribute, original))
        setattr(owner, attribute, times.wrap(name, original))
    try:
        yield times
    finally:
        for owner, attribute, original in reversed(saved):
            setattr(owner, attribute, original)

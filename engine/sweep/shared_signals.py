"""Share `signals()` between parameter sets that read the same parameter values.

A sweep varies decision parameters (a threshold, a hold period, a basket weight) at least as
often as signal parameters, and the signals of two sets that agree on every parameter
`signals()` reads are the same frame. Which parameters those are is recorded, not declared:
a frame is computed with the params behind a proxy that notes every attribute read, and a
later set reuses it when its params give the same values for exactly those reads. The same
reads give the same computation, whatever branches it takes. What `signals()` reads besides
the params is the panel and the strategy's own attributes, which its `__init__` or `reset()`
may derive from the params (`self.window = 2 * self.p.days`: no param read the proxy sees),
so the key holds those attributes too, by value (after a reset), and a frame is shared only
when they are equal; a computation that sets an attribute (a value `signals()` leaves for
`on_event`) is never shared, so each set gets its own. Anything that cannot be compared by
value (an array kept on the strategy) or followed (iterating the params, an error) computes
without sharing. Frames are kept up to a memory budget, the least recently used dropped first.

A strategy may also split its signals in two: `measures(panel)`, the expensive series that
read few params (drawdowns and changes over fixed windows, say), and `signals(panel,
measures=...)`, the cheap comparisons with thresholds, giving the same frame as
`signals(panel)`. The memo then computes measures once per distinct read of *their* params
(recorded the same way) and passes them in, and a frame's key is the reads of both steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from engine.core.panel import Panel
from engine.core.strategy import Strategy

_MISSING = object()
MEASURES_KEPT = 8  # distinct measures kept per read pattern (they are per panel: few)
T = TypeVar("T")


class _RecordingParams:
    """Forwards attribute reads to the params and remembers each name and value."""

    def __init__(self, params: Any) -> None:
        object.__setattr__(self, "_params", params)
        object.__setattr__(self, "reads", {})

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_params"), name)
        object.__getattribute__(self, "reads")[name] = value
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise TypeError("params are read-only while signals are computed")


class SignalMemo:
    """`signals(strategy)` for many parameter sets of one strategy class on one panel."""

    def __init__(self, panel: Panel, budget_mb: float = 192.0) -> None:
        self.panel = panel.for_strategy()  # what the sets' code sees (Panel.for_strategy)
        self.budget = budget_mb * 2**20
        # the names one computation read -> (their values -> the frame), oldest use first
        self.frames: dict[tuple[str, ...], dict[tuple, pd.DataFrame]] = {}
        # the same for measures (a strategy's optional expensive step): -> (measures, reads)
        self.measured: dict[tuple[str, ...], dict[tuple, tuple[Any, dict[str, Any]]]] = {}
        self.sizes: dict[int, float] = {}  # id of a frame held -> its size
        self.held = 0.0
        self.computed = 0

    def signals(self, strategy: Strategy) -> pd.DataFrame:
        strategy.reset()
        state = _state(strategy)
        for names, frames in self.frames.items():
            key = _key(strategy.p, names, state)
            if key is not None and key in frames:
                frames[key] = frame = frames.pop(key)  # now the most recently used
                return frame
        self.computed += 1
        params = strategy.p
        try:
            found = self._measured(strategy, state)
            if found is None:
                frame, reads = _recorded(strategy, lambda: strategy.signals(self.panel))
            else:
                measures, measure_reads = found
                compute: Callable[..., pd.DataFrame] = strategy.signals  # takes measures=
                frame, reads = _recorded(strategy, lambda: compute(self.panel, measures=measures))
                reads = {**measure_reads, **reads}
        except Exception:  # the proxy could not follow: compute plainly, share nothing
            strategy.reset()
            return strategy.signals(self.panel)
        names = tuple(sorted(reads))
        key = _key(params, names, state)
        if key is not None and _state(strategy) == state:  # it set no attribute of its own
            self.frames.setdefault(names, {})[key] = frame
            self.sizes[id(frame)] = size = _size(frame)
            self.held += size
            self._evict()
        return frame

    def measures(self, strategy: Strategy) -> Any | None:
        """The strategy's measures, computed once per distinct read of the params behind
        them; None when the strategy has no `measures` step or the reads cannot be followed."""
        strategy.reset()
        try:
            found = self._measured(strategy, _state(strategy))
        except Exception:  # the proxy could not follow: the caller computes plainly
            return None
        return None if found is None else found[0]

    def _measured(
        self, strategy: Strategy, state: tuple | None
    ) -> tuple[Any, dict[str, Any]] | None:
        """The strategy's measures and the param reads behind them, computed once per
        distinct read (and `state`, `_state` after its reset); None when the strategy has no
        `measures` step."""
        compute = getattr(strategy, "measures", None)
        if not callable(compute):
            return None
        for names, held in self.measured.items():
            key = _key(strategy.p, names, state)
            if key is not None and key in held:
                held[key] = found = held.pop(key)  # now the most recently used
                return found
        measures, reads = _recorded(strategy, lambda: compute(self.panel))
        names = tuple(sorted(reads))
        key = _key(strategy.p, names, state)
        if key is not None and _state(strategy) == state:  # it set no attribute of its own
            held = self.measured.setdefault(names, {})
            held[key] = (measures, reads)
            while len(held) > MEASURES_KEPT:  # measures are per panel: a few at most
                held.pop(next(iter(held)))
        return measures, reads

    def _evict(self) -> None:
        for frames in self.frames.values():
            while self.held > self.budget and len(frames) > 1:
                self.held -= self.sizes.pop(id(frames.pop(next(iter(frames)))))


def _recorded(strategy: Strategy, compute: Callable[[], T]) -> tuple[T, dict[str, Any]]:
    """`compute()` with the strategy's params behind a recorder: its result and the reads."""
    params = strategy.p
    recorder = _RecordingParams(params)
    strategy.p = recorder  # type: ignore[assignment]
    try:
        result = compute()
    finally:
        strategy.p = params
    return result, dict(object.__getattribute__(recorder, "reads"))


def _size(frame: pd.DataFrame) -> float:
    """What the budget counts for a frame: 8 bytes a cell (a float's; its index is the
    panel's, shared). A bool column holds less and an object column's items more: the budget
    bounds the frames held, it is not a measurement. Reading the frame's dtypes to be exact
    cost ~3% of a user's sweep (pandas builds a Series of them)."""
    rows, columns = frame.shape
    return float(rows * columns * 8)


def _key(params: Any, names: tuple[str, ...], state: tuple | None) -> tuple | None:
    """The values of `names` with their types (1, 1.0 and True are different reads) and the
    strategy's `state`, or None when one cannot be compared by hash (then nothing is shared)."""
    if state is None:
        return None
    key = tuple((type(v), v) for v in (getattr(params, n, _MISSING) for n in names))
    try:
        hash(key)
    except TypeError:
        return None
    if any(v != v for _, v in key if isinstance(v, float)):  # NaN never equals itself
        return None
    return key, state


def _state(strategy: Strategy) -> tuple | None:
    """The strategy's own attributes besides its params, by value: what its `__init__` or
    `reset()` derived (`self.window = 2 * self.p.days`, read by `signals()` with no param
    read the recorder could see). Two sets share a frame only when these are equal too.
    None when one cannot be compared by value (an array, a frame, a cycle): nothing shared."""
    try:
        return tuple(
            sorted(
                (name, _by_value(value)) for name, value in vars(strategy).items() if name != "p"
            )
        )
    except (TypeError, RecursionError):
        return None


def _by_value(value: Any) -> Any:
    """A hashable stand-in equal for equal values: containers by their items (in order),
    anything else as itself with its type; TypeError for what cannot be hashed."""
    if isinstance(value, dict):
        return dict, tuple((_by_value(k), _by_value(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return type(value), tuple(_by_value(v) for v in value)
    if isinstance(value, set | frozenset):
        return frozenset, frozenset(_by_value(v) for v in value)
    hash(value)
    return type(value), value

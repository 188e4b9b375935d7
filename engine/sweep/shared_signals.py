"""Share `signals()` between parameter sets that read the same parameter values.

A sweep varies decision parameters (a threshold, a hold period, a basket weight) at least as
often as signal parameters, and the signals of two sets that agree on every parameter
`signals()` reads are the same frame. Which parameters those are is recorded, not declared:
a frame is computed with the params behind a proxy that notes every attribute read, and a
later set reuses it when its params give the same values for exactly those reads. The same
reads give the same computation, whatever branches it takes, so this is safe for any
strategy whose `signals()` depends on its params and the panel only (the Strategy contract).
Anything the proxy cannot follow (iterating the params, an error) computes without sharing.
Frames are kept up to a memory budget, the least recently used dropped first.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from engine.data.panel import Panel
from strategies.base import Strategy

_MISSING = object()


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
        self.panel = panel
        self.budget = budget_mb * 2**20
        # the names one computation read -> (their values -> the frame), oldest use first
        self.frames: dict[tuple[str, ...], dict[tuple, pd.DataFrame]] = {}
        self.held = 0.0
        self.computed = 0

    def signals(self, strategy: Strategy) -> pd.DataFrame:
        for names, frames in self.frames.items():
            key = _key(strategy.p, names)
            if key is not None and key in frames:
                frames[key] = frame = frames.pop(key)  # now the most recently used
                return frame
        self.computed += 1
        strategy.reset()
        params = strategy.p
        recorder = _RecordingParams(params)
        strategy.p = recorder  # type: ignore[assignment]
        try:
            frame = strategy.signals(self.panel)
        except Exception:  # the proxy could not follow: compute plainly, share nothing
            strategy.p = params
            strategy.reset()
            return strategy.signals(self.panel)
        finally:
            strategy.p = params
        names = tuple(sorted(recorder.reads))
        key = _key(params, names)
        if key is not None:
            self.frames.setdefault(names, {})[key] = frame
            self.held += _size(frame)
            self._evict()
        return frame

    def _evict(self) -> None:
        for frames in self.frames.values():
            while self.held > self.budget and len(frames) > 1:
                self.held -= _size(frames.pop(next(iter(frames))))


def _size(frame: pd.DataFrame) -> float:
    return float(frame.memory_usage(index=False, deep=False).sum())


def _key(params: Any, names: tuple[str, ...]) -> tuple | None:
    """The values of `names` with their types (1, 1.0 and True are different reads), or None
    when one cannot be compared by hash (then nothing is shared)."""
    key = tuple((type(v), v) for v in (getattr(params, n, _MISSING) for n in names))
    try:
        hash(key)
    except TypeError:
        return None
    if any(v != v for _, v in key if isinstance(v, float)):  # NaN never equals itself
        return None
    return key

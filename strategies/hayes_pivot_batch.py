"""hayes-pivot's sweep fast path: declined for the rules of issue 16.

The numba state machine that lived here walked the rules before issue 16 (a stress score of
seven equal flags, any easing as a pivot, a 90-day stress-blind hold) bit for bit. The rules
now in `strategies.hayes_pivot` (the fire alarm leading, confirmers, the crisis pivot only,
re-arming after a pivot buy) are not encoded here yet, so `decide_many` declines for every
configuration and the engine walks each set event by event (`engine.schedule`): correct, and
slower for large sweeps. tests/test_hayes_batch.py pins that the decline is total and that a
sweep's decisions equal the walk's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from engine.data.panel import Panel
from strategies.base import SignalSource, Strategy

if TYPE_CHECKING:
    from engine.decisions import Decisions


def decide_many(
    strategies: Sequence[Strategy],
    panel: Panel,
    signals: SignalSource,
    leverage_cap: float,
) -> Decisions | None:
    """None: no configuration is covered yet (the engine walks each set instead)."""
    return None

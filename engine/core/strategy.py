"""The Strategy contract: a thesis that reacts to sparse events with target weights.

A strategy declares
- `Params`: a frozen pydantic model (defaults, bounds, one-line docs, cross-field checks);
- `universe()`: the symbols it may hold; `inputs()`: what else its signals read;
- `signals(panel)`: vectorized, point-in-time series (only trailing windows: the engine's
  truncation test proves it) and `triggers`: the boolean signals whose flips are events;
- `on_event(event, ctx)`: the thesis itself, returning target weights or None (no trade).

Two optional sweep speed-ups, each held by tests to give exactly what the plain path gives:
`measures(panel)` (the expensive, threshold-free series `signals(panel, measures=...)`
compares; `engine.sweep.shared_signals` computes them once per panel) and the classmethod
`decide_many` (every set's decisions as arrays instead of one event walk per set).

It never does I/O, never touches vectorbt and never shifts data: the engine decides with what
is known at a bar's close and executes at the next bar.

Window units are in the parameter's name: `*_days` count calendar days (`engine.core.signals`;
200 days are about 140 equity sessions) and `*_bars` count the asset's own trading sessions
(`engine.core.trading_days`). A strategy may live anywhere (a file, a module, an entry point:
`engine.runs.strategy_loader`); `engine.testing` holds it to the look-ahead property.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, Protocol

import pandas as pd
from pydantic import ConfigDict, model_validator

from engine.core.panel import Panel
from engine.errors import StrategyError
from engine.io.yaml_models import Frozen

if TYPE_CHECKING:
    from collections.abc import Sequence

    from engine.core.decisions import Decisions

Weights = Mapping[str, float]
Rebalance = Literal["daily", "weekly", "monthly", "quarterly", "yearly"]


class SignalSource(Protocol):
    """Where a batch of parameter sets gets its signals (a sweep's `SignalMemo`)."""

    def signals(self, strategy: Strategy) -> pd.DataFrame:
        """The set's `strategy.signals(panel)` frame."""
        ...

    def measures(self, strategy: Strategy) -> Any | None:
        """The set's `strategy.measures(panel)`, shared with sets that read the same params;
        None when there are none to give (no `measures` step, or frames given as they are)."""
        ...


#: the events of a strategy that trades only at the start, a listing and its schedule
SCHEDULED = ("start", "listing", "rebalance")

MAX_WINDOW_DAYS = 36_525  # a century: any longer window is a typo, and dates overflow


class StrategyParams(Frozen):
    """Base of every strategy's parameters: frozen, unknown names rejected, numbers finite
    and day windows at most a century (`liquidity_days: 10**12` overflowed the dates)."""

    model_config = ConfigDict(allow_inf_nan=False)  # pydantic merges it with Frozen's

    @model_validator(mode="after")
    def _windows_fit_dates(self) -> StrategyParams:
        for name in type(self).model_fields:
            value = getattr(self, name)
            too_long = isinstance(value, int | float) and abs(value) > MAX_WINDOW_DAYS
            if name.endswith("_days") and too_long:
                raise ValueError(f"{name} {value} is longer than {MAX_WINDOW_DAYS} days")
        return self


@dataclass(frozen=True)
class Inputs:
    """Data a strategy's signals read besides its universe's prices."""

    symbols: tuple[str, ...] = ()
    macro: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    """Something a strategy may react to, known at the close of bar `time`.

    kinds: "start" (first bar), "listing" (an asset's first bar; `detail` is the symbol),
    "rebalance" (scheduled), "fed:<kind>" (calendar, e.g. fed:emergency_cut),
    "signal:<name>:on" / "signal:<name>:off" (a trigger flipped).
    """

    time: pd.Timestamp
    kind: str
    detail: str = ""


class Context(NamedTuple):
    """What the strategy may know when it decides: nothing after `time`.

    Immutable. The walk builds one per event (hundreds of thousands in a sweep): a named
    tuple is the cheapest immutable record to build (a frozen dataclass took twice as long).
    """

    time: pd.Timestamp
    weights: Weights  # the current targets (what the last decision asked for)
    tradable: frozenset[str]  # universe symbols that have a price at `time`
    signals: Mapping[str, object] = MappingProxyType({})  # at `time` (default: none, shared)

    def signal(self, name: str) -> object:
        """The signal `name` at `time` (an unknown name is one error line naming the known)."""
        try:
            return self.signals[name]
        except KeyError:
            known = ", ".join(map(str, self.signals)) or "none"
            when = pd.Timestamp(self.time).date()
            raise StrategyError(
                f"on_event read signal {name!r} on {when}: its signals are {known}",
                "read a column that signals() returns, or return that column",
            ) from None


def universe_of(strategy: Strategy) -> tuple[str, ...]:
    """`strategy.universe()` as a tuple of symbols (a list is fine), checked: a lone string,
    as `return ("QQQ")` without its comma gives, would otherwise be read as its letters."""
    symbols = strategy.universe()
    if isinstance(symbols, str) or not isinstance(symbols, Iterable):
        raise StrategyError(
            f"{strategy.name}: universe() returned {symbols!r}, not a tuple of symbols",
            "return a tuple such as ('QQQ',) (mind the comma) or a list",
        )
    symbols = tuple(symbols)
    odd = next((s for s in symbols if not isinstance(s, str)), None)
    if odd is not None:
        raise StrategyError(
            f"{strategy.name}: universe() holds {odd!r}, not a symbol",
            "return symbols as strings, such as ('QQQ', 'GLD')",
        )
    return symbols


def fresh(strategy: Strategy) -> Strategy:
    """A new instance with the same params: nothing a walk, or its signals, left on the old
    one carries over (each scenario path, a set rerun alone, `playbook check`'s runs)."""
    return type(strategy)(strategy.p)


def inputs_of(strategy: Strategy) -> Inputs:
    """`strategy.inputs()`, checked: an `Inputs` whose symbols and macro ids are tuples of
    strings (a lone string would be read as its letters)."""
    found = strategy.inputs()
    fix = "return Inputs(symbols=('SPY',), macro=('DGS10',)) (engine.core.strategy.Inputs)"
    if not isinstance(found, Inputs):
        raise StrategyError(f"{strategy.name}: inputs() returned {found!r}, not Inputs", fix)
    for field in ("symbols", "macro"):
        names = getattr(found, field)
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise StrategyError(
                f"{strategy.name}: inputs().{field} is {names!r}, not a tuple of names", fix
            )
    return found


def cite_rule(seed: str, rules: Mapping[str, str], key: str) -> str:
    """'[key] seed: sentence': how a strategy's optional `decision_rule(time)` cites the rule
    behind a decision and the seed sentence it encodes (`playbook signals` prints it; the
    gallery counts decisions by the key, `rule_key`)."""
    return f"[{key}] {seed}: {rules[key]}"


def rule_key(why: str | None) -> str | None:
    """The key of a `cite_rule` citation; None for no citation or another text."""
    return why[1 : why.index("]")] if why and why.startswith("[") else None


class Strategy(ABC):
    """Subclass, set the class attributes, implement `on_event`. See module docstring."""

    name: ClassVar[str]
    thesis: ClassVar[str]
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    triggers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: StrategyParams | None = None) -> None:
        self.p = params if params is not None else self.Params()
        self.reset()

    def reset(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Clear any state before a new walk of the event timeline. Every path runs reset(),
        then signals(), then the walk: what signals() leaves on the strategy, on_event sees
        (a sweep shares a frame only between sets whose attributes after reset() are equal,
        `engine.sweep.shared_signals`)."""

    @abstractmethod
    def universe(self) -> tuple[str, ...]:
        """Symbols this strategy may hold (with these params)."""

    def inputs(self) -> Inputs:
        return Inputs()

    def rebalance(self) -> Rebalance | None:
        """Scheduled rebalance frequency, or None for purely event-driven strategies."""
        return None

    def signals(self, panel: Panel) -> pd.DataFrame:
        """Point-in-time signals on the panel's calendar (trailing windows only)."""
        return pd.DataFrame(index=panel.index)

    @abstractmethod
    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        """Target weights after this event, or None to keep the current ones."""

    @classmethod
    def decide_many(
        cls,
        strategies: Sequence[Strategy],
        panel: Panel,
        signals: SignalSource,
        leverage_cap: float,
    ) -> Decisions | Decline | None:
        """Optional sweep fast path: every set's decisions at once, as arrays.

        Must equal walking each set's events with `on_event` (`engine.core.schedule.build_schedule`
        with `signals.signals(set)`), row for row: `engine.testing.assert_batch_equals_walk`
        holds any implementation to that. It may read the shared `signals.measures(set)`
        instead of building each set's frame, and should use the engine's public pieces for
        the event order and weight validation (`engine.core.schedule.scheduled_events`,
        `EVENT_ORDER`, `validate_weights`) rather than copies. All `strategies` share one
        universe. For anything it does not cover exactly it returns `Decline(reason)` and
        the engine walks each set (a sweep prints the reason); None (the default, no batch
        path) counts as a decline without a reason.
        """
        return None


@dataclass(frozen=True)
class Decline:
    """A batch path's answer when it does not cover these sets exactly: why (one line)."""

    reason: str

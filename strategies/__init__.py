"""The strategy registry: every playbook playbook knows, by name.

Explicit on purpose: adding a strategy means adding it to `REGISTRY` here, nothing implicit.
"""

from __future__ import annotations

import difflib

from engine.errors import ConfigError
from strategies.base import Strategy
from strategies.baselines import BuyAndHold, SixtyForty
from strategies.hard_assets import HardAssetsVsDuration
from strategies.hayes_pivot import HayesPivot
from strategies.liquidity_barometer import LiquidityBarometer

REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        BuyAndHold,
        SixtyForty,
        HayesPivot,
        LiquidityBarometer,
        HardAssetsVsDuration,
    )
}


def get_strategy(name: str) -> type[Strategy]:
    """The strategy class registered as `name`, or a ConfigError with a suggestion."""
    try:
        return REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(REGISTRY), n=1, cutoff=0.4)
        hint = f"did you mean {close[0]!r}?" if close else "run `playbook strategies` to list them"
        raise ConfigError(f"unknown strategy {name!r}", hint) from None

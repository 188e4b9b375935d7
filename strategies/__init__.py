"""The built-in strategies, by name.

Explicit on purpose: a built-in is added to `REGISTRY` here, nothing implicit. A user's own
strategy needs no edit here: a config's `strategy:` may name a file, a module or an installed
entry point (`engine.runs.strategy_loader`, which `get_strategy` delegates to).
"""

from __future__ import annotations

from engine.core.strategy import Strategy
from strategies.baselines import BuyAndHold, ConstantMix, SixtyForty
from strategies.hard_assets import HardAssetsVsDuration
from strategies.hayes_pivot import HayesPivot
from strategies.liquidity_barometer import LiquidityBarometer

REGISTRY: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        BuyAndHold,
        SixtyForty,
        ConstantMix,
        HayesPivot,
        LiquidityBarometer,
        HardAssetsVsDuration,
    )
}

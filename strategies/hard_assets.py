"""hard-assets-vs-duration: long gold and BTC, short long-duration Treasuries.

Thesis: measured in gold, equities have not risen since 1999; money is printed faster than AI
creates GDP, so hard assets beat paper claims, and long duration is the paper that loses most.

Rules and the claim each encodes:
- Long gold (`gold_weight`) and BTC (`btc_weight`), optionally miners (GDX) and energy (USO):
  the hard assets money printing cannot dilute.
- Short long-duration Treasuries (TLT, `short_weight`), paying the configured borrow fee:
  the paper claim that loses when money is printed.
- Before BTC has a price (before 2014-09-17 on real data) its weight goes to gold
  (`btc_fallback: gold`) or waits in cash (`cash`): never to an invented price.
- Optional tilt (`ratio_tilt`): when the SPX/gold ratio is above its trailing mean
  (`tilt_days`), equities are winning against gold, so the long legs shrink by `tilt_strength`.
- Monthly rebalance to the targets.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from engine import signals as sig
from engine.data.panel import Panel
from strategies.base import Context, Event, Inputs, Rebalance, Strategy, StrategyParams, Weights


class HardAssetsParams(StrategyParams):
    gold_symbol: str = Field("GLD", description="the gold leg")
    gold_weight: float = Field(0.4, ge=0, le=2, description="long gold weight")
    btc_weight: float = Field(0.3, ge=0, le=2, description="long BTC weight")
    miners_weight: float = Field(0.0, ge=0, le=2, description="long gold miners (GDX) weight")
    energy_weight: float = Field(0.0, ge=0, le=2, description="long energy (USO) weight")
    duration_symbol: str = Field("TLT", description="the long-duration bond shorted")
    short_weight: float = Field(0.3, ge=0, le=2, description="short duration weight (positive)")
    btc_fallback: str = Field(
        "gold",
        pattern="^(gold|cash)$",
        description="where BTC's weight goes before BTC has a price",
    )
    ratio_tilt: bool = Field(False, description="shrink longs while SPX/gold trends up")
    tilt_days: int = Field(365, ge=30, description="trailing mean of the SPX/gold ratio, days")
    tilt_strength: float = Field(0.5, ge=0, le=1, description="how much the tilt shrinks longs")


class HardAssetsVsDuration(Strategy):
    name = "hard-assets-vs-duration"
    thesis = "Money is printed faster than AI creates GDP: long gold and BTC, short TLT."
    Params = HardAssetsParams
    p: HardAssetsParams

    def longs(self) -> dict[str, float]:
        legs = {
            self.p.gold_symbol: self.p.gold_weight,
            "BTC-USD": self.p.btc_weight,
            "GDX": self.p.miners_weight,
            "USO": self.p.energy_weight,
        }
        return {s: w for s, w in legs.items() if w > 0}

    def universe(self) -> tuple[str, ...]:
        return (*self.longs(), self.p.duration_symbol)

    def inputs(self) -> Inputs:
        return Inputs(symbols=("SPY", self.p.gold_symbol) if self.p.ratio_tilt else ())

    def rebalance(self) -> Rebalance:
        return "monthly"

    def signals(self, panel: Panel) -> pd.DataFrame:
        if not self.p.ratio_tilt:
            return pd.DataFrame(index=panel.index)
        ratio = panel.prices["SPY"] / panel.prices[self.p.gold_symbol]
        return pd.DataFrame(
            {
                "spx_gold_ratio": ratio,
                "equities_winning": sig.above_average(ratio, self.p.tilt_days),
            },
            index=panel.index,
        )

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind not in ("start", "listing", "rebalance"):
            return None
        scale = 1.0
        if self.p.ratio_tilt and ctx.signal("equities_winning") == 1.0:
            scale = 1.0 - self.p.tilt_strength
        weights = {s: w * scale for s, w in self.longs().items() if s in ctx.tradable}
        btc = self.p.btc_weight * scale
        if btc > 0 and "BTC-USD" not in ctx.tradable and self.p.btc_fallback == "gold":
            gold = self.p.gold_symbol
            if gold in ctx.tradable:
                weights[gold] = weights.get(gold, 0.0) + btc
        if self.p.duration_symbol in ctx.tradable and self.p.short_weight > 0:
            weights[self.p.duration_symbol] = -self.p.short_weight
        return weights

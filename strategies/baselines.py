"""What a user compares a playbook against: buy-and-hold and a 60/40 portfolio."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from strategies.base import Context, Event, Rebalance, Strategy, StrategyParams, Weights


class BuyAndHoldParams(StrategyParams):
    symbol: str = Field("SPY", description="the one asset to hold")


class BuyAndHold(Strategy):
    """Hold one asset fully invested from its first tradable bar; never trade again."""

    name = "buy-and-hold"
    thesis = "Hold one asset and never trade: the bar every playbook has to clear."
    Params = BuyAndHoldParams
    p: BuyAndHoldParams

    def universe(self) -> tuple[str, ...]:
        return (self.p.symbol,)

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        entering = event.kind in ("start", "listing") and not ctx.weights
        if entering and self.p.symbol in ctx.tradable:
            return {self.p.symbol: 1.0}
        return None


class SixtyFortyParams(StrategyParams):
    stock: str = Field("SPY", description="the equity leg")
    bond: str = Field("TLT", description="the duration leg")
    stock_weight: float = Field(0.6, ge=0.0, le=1.0, description="equity share of the portfolio")
    rebalance: Rebalance = Field("monthly", description="how often drift is reset")

    @model_validator(mode="after")
    def _distinct_legs(self) -> SixtyFortyParams:
        if self.stock == self.bond:
            raise ValueError("stock and bond must be different symbols")
        return self


class SixtyForty(Strategy):
    """Stocks and bonds at fixed weights, rebalanced on a schedule and at nothing else.

    It decides at the start, when a leg lists, and on its scheduled rebalances; calendar
    events (the Fed's) are not rebalance dates. A leg with no price yet waits in cash
    (earning the T-bill rate) until it lists.
    """

    decides_on: ClassVar[tuple[str, ...]] = ("start", "listing", "rebalance")

    name = "60-40"
    thesis = "The balanced portfolio: 60% stocks, 40% long bonds, rebalanced monthly."
    Params = SixtyFortyParams
    p: SixtyFortyParams

    def universe(self) -> tuple[str, ...]:
        return (self.p.stock, self.p.bond)

    def rebalance(self) -> Rebalance:
        return self.p.rebalance

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind not in self.decides_on:
            return None
        targets = {self.p.stock: self.p.stock_weight, self.p.bond: 1.0 - self.p.stock_weight}
        return {s: w for s, w in targets.items() if s in ctx.tradable}

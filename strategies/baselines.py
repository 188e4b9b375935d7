"""What a user compares a playbook against: buy-and-hold, a 60/40 portfolio and a constant mix."""

from __future__ import annotations

from pydantic import Field, model_validator

from engine.core.strategy import (
    SCHEDULED,
    Context,
    Event,
    Rebalance,
    Strategy,
    StrategyParams,
    Weights,
)


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

    name = "60-40"
    thesis = "The balanced portfolio: 60% stocks, 40% long bonds, rebalanced monthly."
    Params = SixtyFortyParams
    p: SixtyFortyParams

    def universe(self) -> tuple[str, ...]:
        return (self.p.stock, self.p.bond)

    def rebalance(self) -> Rebalance:
        return self.p.rebalance

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind not in SCHEDULED:
            return None
        targets = {self.p.stock: self.p.stock_weight, self.p.bond: 1.0 - self.p.stock_weight}
        return {s: w for s, w in targets.items() if s in ctx.tradable}


class ConstantMixParams(StrategyParams):
    weights: dict[str, float] = Field(
        default_factory=lambda: {"SPY": 0.5},
        description="fixed weight per symbol (negative: short); the rest sits in cash",
    )
    rebalance: Rebalance = Field("monthly", description="how often drift is reset")

    @model_validator(mode="after")
    def _some_weights(self) -> ConstantMixParams:
        if not self.weights:
            raise ValueError("weights must name at least one symbol, e.g. {SPY: 0.5}")
        return self


class ConstantMix(Strategy):
    """Fixed weights, rebalanced on a schedule; whatever they leave earns the T-bill rate.

    The fair baseline for a timing strategy: the same assets at the playbook's average
    weights, so an edge over it is timing, not exposure. Like 60/40 it decides at the start,
    when a leg lists and on its scheduled rebalances only; a leg with no price yet waits in cash.
    """

    name = "constant-mix"
    thesis = "The same assets at constant weights (rest in T-bills): exposure without timing."
    Params = ConstantMixParams
    p: ConstantMixParams

    def universe(self) -> tuple[str, ...]:
        return tuple(self.p.weights)

    def rebalance(self) -> Rebalance:
        return self.p.rebalance

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind not in SCHEDULED:
            return None
        return {s: w for s, w in self.p.weights.items() if s in ctx.tradable}

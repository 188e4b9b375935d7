"""liquidity-barometer: size BTC by liquidity and the dollar; cut it when it trades as levered tech.

Thesis: Bitcoin is the most liquidity-sensitive asset and now trades as levered tech: it is
sold first in a credit squeeze and is the best performer in the quarters after easing and a
weaker dollar.

Rules and the claim each encodes:
- Exposure in [0, max_weight] scales with liquidity growth (USD liquidity index or M2 over
  `liquidity_days`) and the dollar's trend (broad dollar index falling = easier money):
  score = 0.5 + 0.5 * blend(clip(growth / scale), clip(-dollar change / scale)). The blend
  is the `dollar_share`-weighted mean of the scores that are known on the bar: a missing or
  stale input (past its staleness limit, `engine.data.releases`) is dropped, never carried,
  and the run notes say where; with neither known there is no exposure.
- Cut to zero when BTC is coupled to tech (rolling daily-return correlation with NVDA or QQQ
  above `corr_threshold`) *and* tech is falling (QQQ below its 90-day high by
  `tech_drawdown_pct`): then BTC is levered tech in a sell-off, sold first.
- Re-enter only after easing: liquidity growing and the dollar not rising, or a Fed pivot event.
- Weekly re-sizing, trading only when the target moves by at least `min_change`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

from engine import signals as sig
from engine.data.panel import Panel
from strategies.base import Context, Event, Inputs, Rebalance, Strategy, StrategyParams, Weights
from strategies.hayes_pivot import PIVOT_KINDS, macro_series, usd_liquidity

LIQUIDITY_MACRO = ("WALCL", "WTREGEN", "RRPONTSYD", "M2SL", "DTWEXBGS")


class LiquidityBarometerParams(StrategyParams):
    max_weight: float = Field(1.0, gt=0, le=1, description="largest BTC weight")
    liquidity_measure: str = Field(
        "usd_liquidity",
        pattern="^(usd_liquidity|m2)$",
        description="usd_liquidity (Fed - TGA - RRP) or m2",
    )
    liquidity_days: int = Field(91, ge=7, description="window of liquidity growth, days")
    liquidity_scale_pct: float = Field(5.0, gt=0, description="growth that counts as full, %")
    dollar_days: int = Field(91, ge=7, description="window of the dollar trend, days")
    dollar_scale_pct: float = Field(3.0, gt=0, description="dollar move that counts as full, %")
    dollar_share: float = Field(0.5, ge=0, le=1, description="weight of the dollar in the score")
    corr_observations: int = Field(60, ge=10, description="shared trading days in correlations")
    corr_threshold: float = Field(0.5, gt=-1, lt=1, description="BTC-tech correlation = coupled")
    tech_drawdown_pct: float = Field(10.0, gt=0, description="QQQ below 90-day high = falling")
    min_change: float = Field(0.1, ge=0, le=1, description="smallest re-sizing worth a trade")


class LiquidityBarometer(Strategy):
    name = "liquidity-barometer"
    thesis = (
        "BTC is the purest liquidity bet: size it by liquidity growth and a weaker dollar; "
        "cut it when it trades as levered tech in a tech sell-off."
    )
    Params = LiquidityBarometerParams
    p: LiquidityBarometerParams
    triggers = ("coupled_selloff",)

    def reset(self) -> None:
        self.cut = False

    def universe(self) -> tuple[str, ...]:
        return ("BTC-USD",)

    def inputs(self) -> Inputs:
        return Inputs(symbols=("NVDA", "QQQ"), macro=LIQUIDITY_MACRO)

    def rebalance(self) -> Rebalance:
        return "weekly"

    def signals(self, panel: Panel) -> pd.DataFrame:
        p, px = self.p, panel.prices
        if p.liquidity_measure == "m2":
            liquidity = macro_series(panel.macro, "M2SL")
        else:
            liquidity = usd_liquidity(panel)
        growth = sig.change(liquidity, p.liquidity_days)
        dollar = sig.change(macro_series(panel.macro, "DTWEXBGS"), p.dollar_days)
        liquidity_score = np.clip(growth / (p.liquidity_scale_pct / 100), -1, 1)
        dollar_score = np.clip(-dollar / (p.dollar_scale_pct / 100), -1, 1)
        blend = _known_blend(
            pd.DataFrame({"liquidity": liquidity_score, "dollar": dollar_score}),
            pd.Series({"liquidity": 1 - p.dollar_share, "dollar": p.dollar_share}),
            panel.window_start,
        )
        corr_nvda = sig.rolling_correlation(
            px["BTC-USD"], px["NVDA"], panel.traded, p.corr_observations
        )
        corr_qqq = sig.rolling_correlation(
            px["BTC-USD"], px["QQQ"], panel.traded, p.corr_observations
        )
        coupling = pd.concat([corr_nvda, corr_qqq], axis=1).max(axis=1)
        tech_drawdown = sig.drawdown_from_high(px["QQQ"], 90)
        selloff = (coupling > p.corr_threshold) & (tech_drawdown < -p.tech_drawdown_pct / 100)
        return pd.DataFrame(
            {
                "liquidity_growth": growth,
                "dollar_change": dollar,
                "exposure": (p.max_weight * (0.5 + 0.5 * blend)).clip(0, p.max_weight),
                "btc_tech_correlation": coupling,
                "tech_drawdown": tech_drawdown,
                "coupled_selloff": sig.flag(selloff, coupling.isna() | tech_drawdown.isna()),
                "easing": sig.flag((growth > 0) & ~(dollar > 0), growth.isna()),
            },
            index=panel.index,
        )

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if "BTC-USD" not in ctx.tradable:
            return None
        if event.kind == "signal:coupled_selloff:on":
            self.cut = True
            return {}
        pivot = event.kind.startswith("fed:") and event.kind[4:] in PIVOT_KINDS
        if self.cut and (pivot or ctx.signal("easing") == 1.0):
            self.cut = False
        sizing_event = event.kind in ("start", "listing", "rebalance") or pivot
        if self.cut or not sizing_event:
            return None
        target = _finite_or_zero(ctx.signal("exposure"))
        current = ctx.weights.get("BTC-USD", 0.0)
        if abs(target - current) < self.p.min_change and not (target == 0 and current > 0):
            return None
        return {"BTC-USD": target} if target > 0 else {}


def _known_blend(scores: pd.DataFrame, weights: pd.Series, since: pd.Timestamp | None) -> pd.Series:
    """Weighted mean of the scores known on each bar (NaN where none with weight is known).

    A missing input is dropped from the blend rather than counted as a neutral 0, which would
    pull the size toward half for reasons that are only missing data.
    """
    sig.warn_missing(scores, "liquidity-barometer sizing", since)
    known = scores.notna()
    weight = known.mul(weights, axis=1).sum(axis=1)
    total = scores.fillna(0.0).mul(weights, axis=1).sum(axis=1)
    return total / weight.where(weight > 0)


def _finite_or_zero(value: object) -> float:
    number = float(value)  # type: ignore[arg-type]
    return number if np.isfinite(number) else 0.0

"""hard-assets-vs-duration: long gold and BTC, short long-duration Treasuries.

Thesis (seed 003, 加密韋馱 "對不起,這次我必須賭AI會死"): measured in gold, equities have not
risen since 1999; money is printed faster than AI creates GDP, so hard assets beat paper
claims, and long duration is the paper that loses most.

Rules and the claim each encodes (`RULES` quotes the sentences):
- Long gold (`gold_weight`) and BTC (`btc_weight`), optionally miners (GDX) and energy (USO):
  the hard assets money printing cannot dilute [long].
- Short long-duration Treasuries (TLT, `short_weight`), paying the configured borrow fee:
  the paper claim that loses when money is printed [short].
- Before BTC has a price (before 2014-09-17 on real data) its weight goes to gold
  (`btc_fallback: gold`) or waits in cash (`cash`): never to an invented price.
  `btc_leg: false` runs the whole window that way (gold only, no BTC at all), so a user sees
  what the thesis earns without BTC.
- Optional tilt (`ratio_tilt`): when the SPX/gold ratio is above its trailing mean
  (`tilt_days`), equities are winning against gold, so the long legs shrink by `tilt_strength`.
- Optional levels (`levels`, off by default): the article's SPX/gold and QQQ/gold levels as a
  regime input. Each ratio's richness is 0 at or below its floor, 1 at or above its
  resistance, linear in log ratio between [spx_floor, spx_resistance, qqq_floor,
  qqq_resistance]; the position (every leg) is scaled by `floor_scale` + (1 - `floor_scale`)
  x the mean richness of the ratios with data. So the bet is full when equities are dear in
  gold (above the 2.5 / 0.25 resistance the ratios failed at, up to the 5.5 / 0.40 tops that
  preceded an 80% fall) and neutral (cash) at the 0.6-0.7 / 0.03 floors where equities were
  cheapest in gold. The tops are not thresholds: they bound the levels (floor < resistance <=
  top) and name the zone in the signals [spx_top] [qqq_top] [spx_floor] [qqq_floor]
  [spx_resistance] [qqq_resistance].
- Monthly rebalance to the targets.

Ratios: SPX/gold is `spx_symbol` (^GSPC, index points) over `gold_price_symbol` (GC=F, USD
an ounce): ounces of gold one unit of the index buys, as the article plots it. QQQ/gold is the
QQQ share price over the same gold price (0.40 in 1999: QQQ near 110, gold near 280). The
M2-vs-gold race (the article's last chart) is not a rule: the data has M2 but the article
gives no level to act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.core import signals as sig
from engine.core.panel import Panel
from engine.core.strategy import (
    SCHEDULED,
    Context,
    Event,
    Inputs,
    Rebalance,
    Strategy,
    StrategyParams,
    Weights,
)

SEED = "003_283e442ebaf80588.txt"
RULES: dict[str, str] = {
    "long": "做多: 黃金、比特幣、稀缺礦產、能源基礎設施 (long gold, bitcoin, scarce minerals, "
    "energy infrastructure)",
    "short": "做空: 長期主權債券、紙面契約、社會福利承諾 (short long-dated sovereign bonds, paper "
    "contracts, welfare promises)",
    "spx_top": "SPX/黃金:在5.5(即1單位標普可換5.5盎司黃金)遭遇史詩級阻力 (SPX/gold met epic "
    "resistance at 5.5 ounces)",
    "qqq_top": "QQQ/黃金:觸及歷史天花板0.40 (QQQ/gold touched its historic ceiling, 0.40)",
    "spx_floor": "SPX/黃金一路跌破多重支撐,最終在0.6–0.7區間築成歷史性底部 (SPX/gold broke "
    "support after support and made a historic bottom in the 0.6-0.7 range)",
    "qqq_floor": "QQQ/黃金則跌至0.03附近 (QQQ/gold fell to about 0.03)",
    "spx_resistance": "SPX/黃金多次試圖重返2.5阻力位,均告失敗 (SPX/gold tried again and again "
    "to regain the 2.5 resistance and failed)",
    "qqq_resistance": "QQQ/黃金由0.03升至0.25,但0.25已成十年關鍵阻力區間 (QQQ/gold rose from "
    "0.03 to 0.25, but 0.25 has been the decade's key resistance)",
    "race": "錢印得快,還是靠AI造出來的GDP快? (is money printed faster than AI makes GDP?)",
}
ZONES = ("floor", "between", "resistance", "top")


class HardAssetsParams(StrategyParams):
    gold_symbol: str = Field("GLD", description="the gold leg")
    gold_weight: float = Field(0.4, ge=0, le=2, description="long gold weight")
    btc_weight: float = Field(0.3, ge=0, le=2, description="long BTC weight")
    btc_leg: bool = Field(
        True, description="false: no BTC at all; its weight follows btc_fallback throughout"
    )
    miners_weight: float = Field(0.0, ge=0, le=2, description="long gold miners (GDX) weight")
    energy_weight: float = Field(0.0, ge=0, le=2, description="long energy (USO) weight")
    duration_symbol: str = Field("TLT", description="the long-duration bond shorted")
    short_weight: float = Field(0.3, ge=0, le=2, description="short duration weight (positive)")
    btc_fallback: str = Field(
        "gold",
        pattern="^(gold|cash)$",
        description="where BTC's weight goes before BTC has a price (or without the BTC leg)",
    )
    ratio_tilt: bool = Field(False, description="shrink longs while SPX/gold trends up")
    tilt_days: int = Field(365, ge=30, description="trailing mean of the SPX/gold ratio, days")
    tilt_strength: float = Field(0.5, ge=0, le=1, description="how much the tilt shrinks longs")
    levels: bool = Field(False, description="size the bet by the article's SPX/QQQ-in-gold levels")
    spx_symbol: str = Field("^GSPC", description="the S&P 500 index of SPX/gold")
    gold_price_symbol: str = Field("GC=F", description="gold in USD an ounce")
    spx_floor: float = Field(0.7, gt=0, description="SPX/gold floor: top of the 0.6-0.7 range")
    spx_resistance: float = Field(2.5, gt=0, description="SPX/gold resistance (2012-2023)")
    spx_top: float = Field(5.5, gt=0, description="SPX/gold epic top (1999)")
    qqq_floor: float = Field(0.03, gt=0, description="QQQ/gold floor (2008-2011)")
    qqq_resistance: float = Field(0.25, gt=0, description="QQQ/gold decade resistance")
    qqq_top: float = Field(0.40, gt=0, description="QQQ/gold historic ceiling (1999)")
    floor_scale: float = Field(
        0.0, ge=0, le=1, description="position scale when both ratios sit at their floors"
    )

    @model_validator(mode="after")
    def _levels_in_order(self) -> HardAssetsParams:
        for name in ("spx", "qqq"):
            floor = getattr(self, f"{name}_floor")
            resistance = getattr(self, f"{name}_resistance")
            top = getattr(self, f"{name}_top")
            if not floor < resistance <= top:
                raise ValueError(
                    f"{name}_floor < {name}_resistance <= {name}_top is needed "
                    f"(got {floor:g}, {resistance:g}, {top:g})"
                )
        return self


class HardAssetsVsDuration(Strategy):
    name = "hard-assets-vs-duration"
    thesis = "Money is printed faster than AI creates GDP: long gold and BTC, short TLT."
    Params = HardAssetsParams
    p: HardAssetsParams

    def longs(self) -> dict[str, float]:
        legs = {
            self.p.gold_symbol: self.p.gold_weight,
            "BTC-USD": self.p.btc_weight if self.p.btc_leg else 0.0,
            "GDX": self.p.miners_weight,
            "USO": self.p.energy_weight,
        }
        return {s: w for s, w in legs.items() if w > 0}

    def universe(self) -> tuple[str, ...]:
        return (*self.longs(), self.p.duration_symbol)

    def inputs(self) -> Inputs:
        symbols: tuple[str, ...] = ()
        if self.p.ratio_tilt:
            symbols += ("SPY", self.p.gold_symbol)
        if self.p.levels:
            symbols += (self.p.spx_symbol, "QQQ", self.p.gold_price_symbol)
        return Inputs(symbols=tuple(dict.fromkeys(symbols)))

    def rebalance(self) -> Rebalance:
        return "monthly"

    def signals(self, panel: Panel) -> pd.DataFrame:
        frame = pd.DataFrame(index=panel.index)
        if self.p.ratio_tilt:
            ratio = panel.prices["SPY"] / panel.prices[self.p.gold_symbol]
            frame["spx_gold_ratio"] = ratio
            frame["equities_winning"] = sig.above_average(ratio, self.p.tilt_days)
        if self.p.levels:
            frame = frame.join(level_signals(panel, self.p))
        return frame

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind not in SCHEDULED:
            return None
        scale = 1.0
        if self.p.ratio_tilt and ctx.signal("equities_winning") == 1.0:
            scale = 1.0 - self.p.tilt_strength
        if self.p.levels:
            scale *= float(ctx.signal("level_scale"))  # type: ignore[arg-type]
        weights = {s: w * scale for s, w in self.longs().items() if s in ctx.tradable}
        btc = self.p.btc_weight * scale
        no_btc = not self.p.btc_leg or "BTC-USD" not in ctx.tradable
        if btc > 0 and no_btc and self.p.btc_fallback == "gold":
            gold = self.p.gold_symbol
            if gold in ctx.tradable:
                weights[gold] = weights.get(gold, 0.0) + btc
        if self.p.duration_symbol in ctx.tradable and self.p.short_weight > 0:
            weights[self.p.duration_symbol] = -self.p.short_weight * scale
        return weights


def richness(ratio: pd.Series, floor: float, resistance: float) -> pd.Series:
    """0 at or below the floor, 1 at or above the resistance, linear in log ratio between
    (the ratios span decades: 0.03 to 0.40); NaN where the ratio is unknown."""
    span = np.log(resistance) - np.log(floor)
    return ((np.log(ratio) - np.log(floor)) / span).clip(0.0, 1.0)


def zone(ratio: pd.Series, floor: float, resistance: float, top: float) -> pd.Series:
    """0 floor, 1 between, 2 resistance (at or above it), 3 top (at or above it); NaN unknown."""
    bins = np.digitize(ratio.to_numpy(), [floor, resistance, top]).astype("float64")
    return pd.Series(bins, index=ratio.index).where(ratio.notna())


def level_signals(panel: Panel, p: HardAssetsParams) -> pd.DataFrame:
    """SPX/gold and QQQ/gold, their zones and richness, and the position scale."""
    px = panel.prices
    gold = px[p.gold_price_symbol]
    spx, qqq = px[p.spx_symbol] / gold, px["QQQ"] / gold
    rich = pd.DataFrame(
        {
            "spx": richness(spx, p.spx_floor, p.spx_resistance),
            "qqq": richness(qqq, p.qqq_floor, p.qqq_resistance),
        }
    )
    sig.warn_missing(rich, "hard-assets levels", panel.window_start)
    mean = rich.mean(axis=1).fillna(1.0)  # no ratio known: the default, unscaled bet
    return pd.DataFrame(
        {
            "spx_gold": spx,
            "qqq_gold": qqq,
            "spx_gold_zone": zone(spx, p.spx_floor, p.spx_resistance, p.spx_top),
            "qqq_gold_zone": zone(qqq, p.qqq_floor, p.qqq_resistance, p.qqq_top),
            "level_scale": p.floor_scale + (1.0 - p.floor_scale) * mean,
        },
        index=panel.index,
    )

"""liquidity-barometer: size BTC by liquidity and the dollar; cut it when it trades as levered tech.

"Bitcoin at a crossroads" (Dec 2025), seed 002_760e9c92f05a700c.txt. Thesis: Bitcoin is the
most liquidity-sensitive asset and now trades as levered tech: it is sold first in a credit
squeeze and is the best performer in the quarters after easing and a weaker dollar. Every
rule cites the sentence it encodes (`RULES`, also printed by `playbook signals`).

Rules and the claim each encodes:
- Exposure in [0, max_weight] scales with liquidity growth and the dollar's trend (broad
  dollar index falling = easier money) [barometer, dollar]:
  score = 0.5 + 0.5 * blend(liquidity score, clip(-dollar change / scale)). The blend is the
  `dollar_share`-weighted mean of the scores that are known on the bar: a missing or stale
  input (past its staleness limit, `engine.data.releases`) is dropped, never carried, and the
  run notes say where; with none known there is no exposure.
- The liquidity measure [measure] is `liquidity_measure`: `usd_liquidity` (default: Hayes's
  USD liquidity index, WALCL - TGA - RRP, growth over `liquidity_days` calendar days),
  `m2` (M2SL, monthly, seasonally adjusted, growth over `m2_days` calendar days: 365 = year
  over year) or `blend` (the mean of the two scores that are known). The article names "a
  global liquidity index or M2" side by side and does not prefer M2, so the default stays the
  liquidity index; `configs/liquidity-barometer-m2.yaml` is the M2 variant. Each growth is
  clipped to [-1, 1] after dividing by its own full-scale growth (`liquidity_scale_pct`,
  `m2_scale_pct`). Both series come through the panel's release lags (M2SL about four weeks
  after month end) and staleness rule.
- Cut to zero when BTC is coupled to tech (rolling daily-return correlation with NVDA or QQQ
  above `corr_threshold`) *and* tech is falling (QQQ below its 90-day high by
  `tech_drawdown_pct`): then BTC is levered tech in a sell-off, sold first [levered_tech,
  sold_first].
- Re-enter only after easing: a Fed-calendar event of an `EASING_KINDS` kind (crisis
  printing and ordinary easing alike) [fed_easing], or liquidity growing with the dollar not
  rising [easing_data].
- Weekly re-sizing, trading only when the target moves by at least `min_change` [weekly: a
  variant the article does not name]; long only, never levered [long_only].
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import Field

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
    cite_rule,
)
from strategies.hayes_pivot import macro_series, usd_liquidity

SEED = "002_760e9c92f05a700c.txt"
RULES: dict[str, str] = {
    "barometer": "中國研究人員記錄到比特幣價格與全球流動性指數或廣義貨幣((M2))之間存在強烈正相關。"
    "根據此分析,比特幣被視為“流動性晴雨表”——在流動性充裕時表現出色,在收縮時崩潰。 (Chinese "
    "researchers found a strong positive correlation between BTC and a global liquidity index "
    "or broad money (M2): BTC is a 'liquidity barometer' that excels when liquidity is ample "
    "and collapses when it contracts)",
    "measure": "中國研究人員記錄到比特幣價格與全球流動性指數或廣義貨幣((M2))之間存在強烈正相關。 "
    "(a global liquidity index OR M2: the article names both and prefers neither, so the "
    "default stays the USD liquidity index and M2 is an equal, documented choice)",
    "dollar": "近期Seeking Alpha的分析比較比特幣與全球流動性和美元指數,顯示一旦放寬政策正式啟動且"
    "美元走弱,比特幣在隨後的季度中傾向於錄得顯著漲幅。 (comparing BTC with global liquidity "
    "and the dollar index: once easing formally starts and the dollar weakens, BTC tends to "
    "post significant gains in the following quarters)",
    "levered_tech": "比特幣已轉變為科技投資生態系統中波動性最大的工具,對與人工智慧相關的股票情緒"
    "變動反應放大。……比特幣與英偉達的皮爾森相關係數在三個月的移動窗口中達到約0.96……與整個納斯達克"
    "的相關係數在12月10日的30天平均中為0.53。 (BTC has become the most volatile instrument of "
    "the tech complex ... its Pearson correlation with Nvidia reached about 0.96 over three "
    "months ... with the whole Nasdaq 0.53 over 30 days)",
    "sold_first": "令人擔憂的結論是:當科技股下跌時,比特幣的跌幅甚至更大。……比特幣歷來是宏觀和成長"
    "基金在面臨追加保證金時最先清倉的資產之一。 (when tech falls, BTC falls even more ... BTC "
    "has historically been among the first assets macro and growth funds dump on margin calls)",
    "fed_easing": "數月後,若央行再次放寬,美元走弱,比特幣歷史上會因流動性回歸風險資產而獲得超額"
    "收益。 (months later, if central banks ease again and the dollar weakens, BTC has "
    "historically outperformed as liquidity returns to risk assets): easing of any kind, "
    "ordinary cuts as much as the 2020 printing (2020年3月的衝擊後,大規模的量化寬鬆和流動性注入"
    "與加密貨幣市值的爆炸性增長同步: after the March 2020 shock, massive QE and liquidity "
    "injections coincided with crypto's explosive growth)",
    "easing_data": "一旦放寬政策正式啟動且美元走弱,比特幣在隨後的季度中傾向於錄得顯著漲幅。 (once "
    "easing formally starts and the dollar weakens, BTC tends to post significant gains): "
    "read in the data as liquidity growing and the dollar not rising",
    "long_only": "variant, not in the article: BTC only, between cash and max_weight, never short "
    "or levered (the article makes no sizing claim beyond in or out)",
    "weekly": "variant, not in the article: weekly re-sizing, trading only moves of min_change",
}

# Fed-calendar kinds that count as easing for re-entry [fed_easing]: the article's "若央行再次
# 放寬" is easing in general, so crisis printing and ordinary easing both re-enter. Defined
# here, not imported from hayes-pivot, whose pivot is deliberately narrower.
CRISIS_EASING_KINDS = (
    "emergency_cut",
    "emergency_cut_qe",
    "emergency_facility",
    "joint_program",
    "qe_start",
)
ORDINARY_EASING_KINDS = ("first_cut", "cut", "qt_end", "reserve_purchases", "discount_rate_cut")
EASING_KINDS = (*CRISIS_EASING_KINDS, *ORDINARY_EASING_KINDS)

LIQUIDITY_MACRO = ("WALCL", "WTREGEN", "RRPONTSYD", "M2SL", "DTWEXBGS")


class LiquidityBarometerParams(StrategyParams):
    max_weight: float = Field(1.0, gt=0, le=1, description="largest BTC weight")
    liquidity_measure: str = Field(
        "usd_liquidity",
        pattern="^(usd_liquidity|m2|blend)$",
        description="usd_liquidity (Fed - TGA - RRP), m2 (M2SL) or blend (mean of both scores)",
    )
    liquidity_days: int = Field(
        91, ge=7, description="window of USD liquidity growth, calendar days"
    )
    liquidity_scale_pct: float = Field(
        5.0, gt=0, description="USD liquidity growth that counts as full, %"
    )
    m2_days: int = Field(
        365, ge=28, description="window of M2 growth, calendar days (365: year over year)"
    )
    m2_scale_pct: float = Field(10.0, gt=0, description="M2 growth that counts as full, %")
    dollar_days: int = Field(91, ge=7, description="window of the dollar trend, calendar days")
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
        self.why: dict[pd.Timestamp, str] = {}

    def universe(self) -> tuple[str, ...]:
        return ("BTC-USD",)

    def inputs(self) -> Inputs:
        return Inputs(symbols=("NVDA", "QQQ"), macro=LIQUIDITY_MACRO)

    def rebalance(self) -> Rebalance:
        return "weekly"

    def signals(self, panel: Panel) -> pd.DataFrame:
        p, px = self.p, panel.prices
        usd_growth = sig.change(usd_liquidity(panel), p.liquidity_days)
        m2_growth = sig.change(macro_series(panel.macro, "M2SL"), p.m2_days)
        dollar = sig.change(macro_series(panel.macro, "DTWEXBGS"), p.dollar_days)
        scores = pd.DataFrame(
            {
                "usd_liquidity": np.clip(usd_growth / (p.liquidity_scale_pct / 100), -1, 1),
                "m2": np.clip(m2_growth / (p.m2_scale_pct / 100), -1, 1),
            }
        )
        liquidity_score = _liquidity_score(scores, p.liquidity_measure, panel.window_start)
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
        easing = (liquidity_score > 0) & ~(dollar > 0)
        return pd.DataFrame(
            {
                "usd_liquidity_growth": usd_growth,
                "m2_growth": m2_growth,
                "liquidity_score": liquidity_score,
                "dollar_change": dollar,
                "exposure": (p.max_weight * (0.5 + 0.5 * blend)).clip(0, p.max_weight),
                "btc_tech_correlation": coupling,
                "tech_drawdown": tech_drawdown,
                "coupled_selloff": sig.flag(selloff, coupling.isna() | tech_drawdown.isna()),
                "easing": sig.flag(easing, liquidity_score.isna()),
            },
            index=panel.index,
        )

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if "BTC-USD" not in ctx.tradable:
            return None
        if event.kind == "signal:coupled_selloff:on":
            self.cut = True
            return self.decide(event, {}, "sold_first")
        fed_easing = event.kind.startswith("fed:") and event.kind[4:] in EASING_KINDS
        rule = "barometer"
        if self.cut and (fed_easing or ctx.signal("easing") == 1.0):
            self.cut = False
            rule = "fed_easing" if fed_easing else "easing_data"
        sizing_event = event.kind in SCHEDULED or fed_easing
        if self.cut or not sizing_event:
            return None
        target = _finite_or_zero(ctx.signal("exposure"))
        current = ctx.weights.get("BTC-USD", 0.0)
        if abs(target - current) < self.p.min_change and not (target == 0 and current > 0):
            return None
        return self.decide(event, {"BTC-USD": target} if target > 0 else {}, rule)

    def decide(self, event: Event, weights: Weights, rule: str) -> Weights:
        """`weights`, with the rule behind them recorded for `decision_rule`."""
        self.why[event.time] = rule
        return weights

    def decision_rule(self, time: pd.Timestamp) -> str | None:
        """The rule behind the decision taken at `time` and the sentence it encodes (what
        `playbook signals` prints under each decision)."""
        key = self.why.get(time)
        return None if key is None else cite_rule(SEED, RULES, key)


def _liquidity_score(scores: pd.DataFrame, measure: str, since: pd.Timestamp | None) -> pd.Series:
    """The chosen liquidity score; `blend` is the mean of the measures known on the bar."""
    if measure != "blend":
        return scores[measure]
    return _known_blend(scores, pd.Series(1.0, index=scores.columns), since)


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

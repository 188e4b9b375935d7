"""hayes-pivot: BTC until the fire alarm, T-bills until the Fed is forced to print, then BTC.

Arthur Hayes, "This Is Fine" (2026-02-18), seeds 000_6acbe83d1e70b974.txt and
001_14d47c38698f02cb.txt (two reprints of one Chinese translation; quotes below are from 001,
the longer one). Every rule cites the sentence it encodes (`RULES`, also printed by
`playbook signals`).

Rules:
- The fire alarm leads: BTC diverging from the Nasdaq-100 (`btc_diverging_from_nasdaq`, BTC's
  90-day drawdown worse than the Nasdaq's by `btc_divergence_pct` points) [alarm]. It is not
  one equal vote: the alarm is on only when it is on AND at least `confirmations` of the
  confirming warnings are on (a confirmer with no data counts as off):
  `gold_up_btc_down` [gold], `software_lagging` (IGV behind QQQ) [saas],
  `staples_over_discretionary` (XLP/XLY rising) [staples], `lenders_over_borrowers` (AXP
  ahead of IGV) [lenders], `regional_banks_drawdown` (KRE below its 1-year high: the data has
  no big-bank index, so "regional vs big banks" is read as regional banks falling)
  [banks], `hy_spreads_widening` [credit], `unemployment_rising` (UNRATE `unrate_rise_pts`
  above its 1-year low and higher than 91 days ago: rising now, not recovering) [jobs].
- Before any alarm the strategy holds the basket unlevered (BTC is the asset the article
  expects to rise on fiat credit; it never levers) [stance].
- Alarm on -> all cash at the T-bill rate, never short [delever]. "Trim into rallies" is
  read as: exit at the close of the bar the alarm is known; no rally timing is attempted.
- In cash, buy only when the Fed is forced to print: a calendar event of a `pivot_kinds`
  kind (default: emergency facility, joint Treasury-Fed program, emergency cut to the floor
  with QE, QE start) [pivot]. Ordinary cuts, QT ending, reserve-management bill purchases
  and discount-rate cuts are not the pivot [not_discount]; `configs/hayes-pivot-broad.yaml`
  opts into them as a named variant.
- After a pivot buy, the crash's alarm is ignored until it clears for `rearm_days` (30: an
  alarm flickering off and on in the crash is the same alarm); a fresh alarm after that
  exits again [fresh]. `hold_after_pivot_days` (default 0) is a variant
  that ignores even fresh alarms for a while; the article does not ask for it.
- The two BTC cases [cases]: `btc_case` is 1 when BTC holds above its 90-day low while the
  Nasdaq falls (the 126k -> 60k fall was the whole drop, stocks catch down) and 2 when BTC
  is still at its low (BTC keeps falling with stocks). Both branches wait for the Fed: the
  article buys on the all-clear either way; the case is reported with each decision.
- Data pivots are off by default: the data has no target-range series (DFEDTARU/DFEDTARL),
  and the effective rate (DFF) trips "first cuts" weeks before the Fed moves (4.68 on
  2007-08-10 with the target at 5.25). `data_pivots` opts into USD liquidity turning up
  (with the alarm off) as a weaker variant the article does not name [data].
- `max_wait_days` caps the wait (None: wait for the pivot, however long) [wait: a variant].
- Alts (ZEC, HYPE) are optional: the article names them in 2026, so backtesting them earlier
  is hindsight; hayes-pivot-alts.yaml says so.

A sweep decides for many parameter sets at once with `decide_many`: the same rules over
arrays in `strategies.hayes_pivot_batch`, held to `on_event` bit for bit by tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.core import signals as sig
from engine.core.panel import Panel
from engine.core.strategy import (
    Context,
    Event,
    Inputs,
    Rebalance,
    SignalSource,
    Strategy,
    StrategyParams,
    Weights,
    cite_rule,
)

if TYPE_CHECKING:
    from engine.core.decisions import Decisions
    from engine.core.strategy import Decline

SEED = "001_14d47c38698f02cb.txt"
RULES: dict[str, str] = {
    "alarm": "比特币是全球法币流动性的火灾警报器。……近期比特币与纳斯达克100指数之间的走势背离,"
    "正敲响一场大规模信用毁灭事件即将到来的警钟。 (BTC is the fire alarm of global fiat "
    "liquidity ... its recent divergence from the Nasdaq-100 rings the warning bell)",
    "gold": "黄金(gold,金线)上涨,而比特币(白线)下跌,清楚地告诉我们……一场通缩式的避险信用事件"
    "正在酝酿之中。 (gold up while BTC falls: a deflationary credit event is brewing)",
    "saas": "这就是为什么代表上市软件与SaaS企业的iShares Software ETF(代号IGV,白线)相对于"
    "更广泛的纳斯达克指数(Nasdaq,金线)出现大幅下跌。 (IGV falls hard relative to the Nasdaq)",
    "staples": "从近期比率上升可见,XLP明显跑赢XLY。 (XLP/XLY rising: XLP beats XLY)",
    "lenders": "那些服务即将破产白领工作者的金融机构,例如American Express(AXPUS,白线),"
    "目前仍维持相对强势,而其借款人雇主(IGVUS,金线)却已遭市场惩罚。 "
    "(AXP still relatively strong while its borrowers' employers, IGV, are punished)",
    "banks": "市场将嗅出这些脆弱银行,并摧毁其股价。 (the market will sniff out the weak, non-TBTF "
    "banks and destroy their share prices)",
    "credit": "当非「大到不能倒」(TBTF)的银行股崩跌、存款转向大型银行、信用市场冻结时,"
    "市场恐慌才会真正引爆 (when non-TBTF bank stocks crash and credit markets freeze)",
    "jobs": "随着部分劳工失业,违约率开始上升。 (as some workers lose their jobs, defaults rise)",
    "stance": "投机者应该减少杠杆,等待联准会发出「一切安全」讯号,再抛售肮脏的法币,"
    "疯狂买进风险资产。 (speculators should reduce leverage, wait for the Fed's all-clear, "
    "then sell dirty fiat and buy risk assets)",
    "delever": "我不会放空市场,但若尚未提高现金部位,逢高减码可能较为审慎。……放空是愚人的游戏。 "
    "(I won't short; if you haven't raised cash, trimming into rallies may be prudent ... "
    "shorting is a fool's game)",
    "pivot": "就像2023年3月12日星期日Signature Bank倒闭后那样,将会出现紧急公告。财政部长与当时的"
    "联准会主席将宣布某项联合计划,实质上等同于印钞。然后,就是「卡车倒退」般大举买进比特币"
    "与山寨币,就像2020年那样。 (as after Signature Bank failed on Sunday 12 March 2023 there "
    "will be an emergency announcement, a joint Treasury-Fed program that is printing; then "
    "back up the truck on BTC and alts, like 2020)",
    "not_discount": "问题在于,贴现窗口假设问题仅是「期限错配」与流动性不足。 (the discount window "
    "assumes only a maturity mismatch and illiquidity: it cannot fix insolvency)",
    "fresh": "近期比特币与纳斯达克100指数之间的走势背离,"
    "正敲响一场大规模信用毁灭事件即将到来的警钟。 "
    "(BTC's divergence from the Nasdaq-100 rings the warning bell): a fresh alarm after a "
    "pivot buy exits again; the article names no hold that would silence it",
    "cases": "要嘛比特币从126,000美元跌到60,000美元已经完成全部下跌,接下来股票补跌;要嘛比特币还会"
    "继续下跌,因为股市正在走向崩溃。 (either BTC's 126k -> 60k fall was the whole drop and "
    "stocks catch down, or BTC keeps falling as stocks collapse)",
    "data": "variant, not in the article: USD liquidity turning up in the data (configs opt in)",
    "wait": "variant, not in the article: the wait for the pivot is capped (max_wait_days)",
}

CASES = {
    1: "BTC holds above its 90-day low as the Nasdaq falls (its drop was the whole drop)",
    2: "BTC at its 90-day low (still falling with stocks)",
}

CRISIS_PIVOT_KINDS = ("emergency_facility", "joint_program", "emergency_cut_qe", "qe_start")
BROAD_PIVOT_KINDS = (
    *CRISIS_PIVOT_KINDS,
    "emergency_cut",
    "first_cut",
    "qt_end",
    "reserve_purchases",
    "discount_rate_cut",
)
STRESS_MACRO = ("BAMLH0A0HYM2", "UNRATE", "WALCL", "WTREGEN", "RRPONTSYD")


class HayesPivotParams(StrategyParams):
    btc_weight: float = Field(1.0, ge=0, le=1, description="BTC share of the risk-on basket")
    zec_weight: float = Field(0.0, ge=0, le=1, description="ZEC share of the risk-on basket")
    hype_weight: float = Field(0.0, ge=0, le=1, description="HYPE share of the risk-on basket")
    hype_symbol: str = Field("HYPE-USD", description="Hyperliquid's symbol in your data")
    nasdaq_symbol: str = Field("QQQ", description="the Nasdaq-100 BTC is compared with")
    gold_symbol: str = Field("GLD", description="the gold price")
    btc_divergence_pct: float = Field(
        20, gt=0, description="alarm: BTC's 90-day drawdown worse than Nasdaq's by these points"
    )
    confirmations: int = Field(2, ge=0, le=7, description="confirming warnings the alarm needs")
    btc_drop_pct: float = Field(10, gt=0, description="BTC 30-day fall for gold-up-BTC-down")
    igv_lag_pct: float = Field(5, gt=0, description="IGV behind QQQ over 60 days, points")
    staples_rise_pct: float = Field(5, gt=0, description="XLP/XLY rise over 60 days, percent")
    lender_lead_pct: float = Field(10, gt=0, description="AXP ahead of IGV over 60 days, points")
    kre_drawdown_pct: float = Field(20, gt=0, description="KRE below its 1-year high, percent")
    hy_widening_pts: float = Field(1.0, gt=0, description="HY OAS rise over 60 days, points")
    unrate_rise_pts: float = Field(0.5, gt=0, description="UNRATE above its 1-year low, points")
    btc_low_pct: float = Field(3, gt=0, description="case 2: BTC within this % of its 90d low")
    pivot_kinds: tuple[str, ...] = Field(
        CRISIS_PIVOT_KINDS, description="Fed event kinds that end the wait"
    )
    data_pivots: bool = Field(False, description="variant: liquidity turning up also pivots")
    liquidity_turn_pct: float = Field(
        3, gt=0, description="USD liquidity rise over 91 days that counts as a pivot, percent"
    )
    hold_after_pivot_days: int = Field(
        0, ge=0, description="variant: ignore even fresh alarms this long after a pivot buy"
    )
    rearm_days: int = Field(
        30, ge=0, description="after a pivot buy, the alarm re-arms once off this many days"
    )
    max_wait_days: int | None = Field(None, gt=0, description="variant: cap on the wait")

    @model_validator(mode="after")
    def _basket_is_unlevered(self) -> HayesPivotParams:
        total = self.btc_weight + self.zec_weight + self.hype_weight
        if not 0 < total <= 1 + 1e-12:
            raise ValueError(f"basket weights sum to {total:g}; they must be in (0, 1]")
        return self


class HayesPivot(Strategy):
    name = "hayes-pivot"
    thesis = (
        "BTC until the fire alarm (BTC diverging from the Nasdaq, confirmed); then T-bills, "
        "never short, until the Fed is forced to print; then BTC (and alts)."
    )
    Params = HayesPivotParams
    p: HayesPivotParams
    triggers = ("alarm", "pivot")

    def reset(self) -> None:
        self.waiting = False
        self.waiting_since: pd.Timestamp | None = None
        self.last_pivot: pd.Timestamp | None = None
        self.armed = True  # False after a pivot buy: the crash's alarm, ignored until it clears
        self.off_since: pd.Timestamp | None = None
        self.why: dict[pd.Timestamp, str] = {}
        self.case: dict[pd.Timestamp, int] = {}

    def basket(self) -> dict[str, float]:
        weights = {
            "BTC-USD": self.p.btc_weight,
            "ZEC-USD": self.p.zec_weight,
            self.p.hype_symbol: self.p.hype_weight,
        }
        return {s: w for s, w in weights.items() if w > 0}

    def universe(self) -> tuple[str, ...]:
        return tuple(self.basket())

    def inputs(self) -> Inputs:
        symbols = (
            "BTC-USD",
            self.p.nasdaq_symbol,
            self.p.gold_symbol,
            "QQQ",
            "IGV",
            "XLP",
            "XLY",
            "AXP",
            "KRE",
        )
        return Inputs(symbols=symbols, macro=STRESS_MACRO)

    def rebalance(self) -> Rebalance:
        return "monthly"

    def measures(self, panel: Panel) -> AlarmMeasures:
        """What the warnings compare with thresholds (no threshold read): a sweep computes
        them once per panel and shares them between sets."""
        return alarm_measures(panel, self.p)

    def signals(self, panel: Panel, measures: AlarmMeasures | None = None) -> pd.DataFrame:
        m = self.measures(panel) if measures is None else measures
        return alarm_signals(m, self.p)

    @classmethod
    def decide_many(
        cls,
        strategies: Sequence[Strategy],
        panel: Panel,
        signals: SignalSource,
        leverage_cap: float,
    ) -> Decisions | Decline:
        """A sweep's sets at once: these rules over arrays (`strategies.hayes_pivot_batch`),
        or a Decline saying why not (then the engine walks each set)."""
        from strategies.hayes_pivot_batch import decide_many

        return decide_many(strategies, panel, signals, leverage_cap, rules=HayesPivot)

    def decision_rule(self, time: pd.Timestamp) -> str | None:
        """The rule behind the decision taken at `time` and the sentence it encodes (what
        `playbook signals` prints under each decision)."""
        key = self.why.get(time)
        if key is None:
            return None
        case = self.case.get(time, 0)
        shown = case and key in ("alarm", "fresh", "pivot", "delever")
        seen = f" | BTC case {case}: {CASES[case]}" if shown else ""
        return cite_rule(SEED, RULES, key) + seen

    def decide(
        self, event: Event, ctx: Context, weights: dict[str, float], rule: str
    ) -> dict[str, float]:
        """`weights`, with the rule and the BTC case seen recorded for `decision_rule`."""
        self.why[event.time] = rule
        case = ctx.signals.get("btc_case", 0.0)  # a frame given without it: no case
        self.case[event.time] = int(case) if case in (1.0, 2.0) else 0
        return weights

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        alarm_on = ctx.signal("alarm") == 1.0
        if event.kind == "start":
            self.waiting = alarm_on
            self.waiting_since = event.time if alarm_on else None
            if alarm_on:
                return self.decide(event, ctx, {}, "delever")
            return self.decide(event, ctx, self.invested(ctx), "stance")
        if event.kind == "signal:alarm:off":
            self.off_since = event.time
            return None
        if event.kind == "signal:alarm:on":
            self.rearm(event.time)
        if self.waiting:
            return self.while_waiting(event, ctx, alarm_on)
        fresh = event.kind == "signal:alarm:on" and self.armed
        standing = event.kind == "rebalance" and alarm_on and self.armed
        if (fresh or standing) and not self.holding_after_pivot(event.time):
            self.waiting, self.waiting_since = True, event.time
            return self.decide(event, ctx, {}, "alarm" if self.last_pivot is None else "fresh")
        if event.kind in ("rebalance", "listing"):
            target = self.invested(ctx)
            if target == dict(ctx.weights):
                return None
            return self.decide(event, ctx, target, "pivot" if self.last_pivot else "stance")
        return None

    def while_waiting(self, event: Event, ctx: Context, alarm_on: bool) -> Weights | None:
        """In T-bills until the Fed is forced to print (or a variant's weaker all-clear)."""
        waited = (event.time - self.waiting_since).days if self.waiting_since is not None else 0
        data_pivot = event.kind in ("signal:pivot:on", "rebalance") and ctx.signal("pivot") == 1.0
        too_long = self.p.max_wait_days is not None and waited >= self.p.max_wait_days
        if self.is_fed_pivot(event):
            rule = "pivot"
        elif data_pivot and not alarm_on:
            rule = "data"
        elif too_long and not alarm_on and event.kind == "rebalance":
            rule = "wait"
        else:
            return None
        self.last_pivot = event.time
        self.armed = False  # the crash's alarm is not a fresh one
        self.off_since = None if alarm_on else event.time
        self.waiting, self.waiting_since = False, None
        return self.decide(event, ctx, self.invested(ctx), rule)

    def rearm(self, now: pd.Timestamp) -> None:
        """A fresh alarm after a pivot buy: one after the crash's alarm stayed off
        `rearm_days` (an alarm flickering off and on in the crash is the same alarm)."""
        off = self.off_since
        if not self.armed and off is not None and (now - off).days >= self.p.rearm_days:
            self.armed = True
        self.off_since = None

    def is_fed_pivot(self, event: Event) -> bool:
        return event.kind.startswith("fed:") and event.kind[4:] in self.p.pivot_kinds

    def holding_after_pivot(self, now: pd.Timestamp) -> bool:
        if self.last_pivot is None:
            return False
        return (now - self.last_pivot).days < self.p.hold_after_pivot_days

    def invested(self, ctx: Context) -> dict[str, float]:
        """The basket; a part with no price yet stays in cash."""
        return {s: w for s, w in self.basket().items() if s in ctx.tradable}


LEAD = "btc_diverging_from_nasdaq"
CONFIRMERS = (
    "gold_up_btc_down",
    "software_lagging",
    "staples_over_discretionary",
    "lenders_over_borrowers",
    "regional_banks_drawdown",
    "hy_spreads_widening",
    "unemployment_rising",
)
FLAGS = (LEAD, *CONFIRMERS)
FLAG_RULES = dict(
    zip(
        FLAGS,
        ("alarm", "gold", "saas", "staples", "lenders", "banks", "credit", "jobs"),
        strict=True,
    )
)
SIGNAL_COLUMNS = (*FLAGS, "confirmed", "alarm", "pivot", "btc_case")
FLAG_INPUTS = {  # the measures (`alarm_measures`) each warning reads
    LEAD: ("btc_vs_nasdaq",),
    "gold_up_btc_down": ("btc_30d", "gold_30d"),
    "software_lagging": ("igv_vs_qqq",),
    "staples_over_discretionary": ("staples",),
    "lenders_over_borrowers": ("axp_vs_igv",),
    "regional_banks_drawdown": ("kre",),
    "hy_spreads_widening": ("hy_60d",),
    "unemployment_rising": ("unrate_rise", "unrate_91d"),
}


@dataclass(frozen=True, eq=False)
class AlarmMeasures:
    """The series the warnings compare with their thresholds, on the panel calendar: they
    depend on the panel and the symbol params only, so sets that differ in thresholds share
    them. Held as arrays: a scenario run computes them once per path, a sweep compares them
    with each set's thresholds, and neither needs a frame until the signals are returned."""

    index: pd.DatetimeIndex  # the panel calendar
    values: dict[str, np.ndarray]  # one array per measure (`FLAG_INPUTS`, liquidity, case)
    missing: dict[str, np.ndarray]  # one bool array per warning: a measure it reads is unknown

    @property
    def frame(self) -> pd.DataFrame:
        """The measures as a frame (for reading; the rules use `values`)."""
        return pd.DataFrame(self.values, index=self.index)


def alarm_measures(panel: Panel, p: HayesPivotParams) -> AlarmMeasures:
    """The measures behind each warning; warns once per warning missing data in the window
    (it counts as off there, never filled).

    Same arithmetic as `sig.change`/`sig.difference`/`sig.drawdown_from_high` on series, on
    arrays: each lag's rows are found once for all the series lagged by it, and the columns
    are read from each frame at once (a scenario run computes these once per path, where
    pandas' per-call overhead was most of their cost). Tests hold the values to the series
    functions bit for bit."""
    index = pd.DatetimeIndex(panel.prices.index)
    rows = {days: sig.lag_rows(index, days) for days in (30, 60, 91)}
    px = columns(panel.prices)
    macro = columns(panel.macro)

    def change(values: np.ndarray, days: int) -> np.ndarray:
        return values / sig.lagged_values(values, rows[days]) - 1.0

    def difference(values: np.ndarray, days: int) -> np.ndarray:
        return values - sig.lagged_values(values, rows[days])

    def rolling(series: pd.Series, days: int, how: str) -> np.ndarray:
        window = series.rolling(f"{days}D", min_periods=1)
        return (window.max() if how == "max" else window.min()).to_numpy(dtype="float64")

    btc_s, nasdaq_s, kre_s = (panel.prices[s] for s in ("BTC-USD", p.nasdaq_symbol, "KRE"))
    btc, nasdaq, gold = px["BTC-USD"], px[p.nasdaq_symbol], px[p.gold_symbol]
    igv_60d = change(px["IGV"], 60)  # read by two warnings
    unrate_s = macro_series(panel.macro, "UNRATE")
    unrate = unrate_s.to_numpy(dtype="float64")
    values = {
        "btc_vs_nasdaq": (btc / rolling(btc_s, 90, "max") - 1.0)
        - (nasdaq / rolling(nasdaq_s, 90, "max") - 1.0),
        "btc_30d": change(btc, 30),
        "gold_30d": change(gold, 30),
        "igv_vs_qqq": igv_60d - change(px["QQQ"], 60),
        "staples": change(px["XLP"] / px["XLY"], 60),
        "axp_vs_igv": change(px["AXP"], 60) - igv_60d,
        "kre": px["KRE"] / rolling(kre_s, 365, "max") - 1.0,
        "hy_60d": difference(macro.get("BAMLH0A0HYM2", unknown(index)), 60),
        "unrate_rise": unrate - rolling(unrate_s, 365, "min"),
        "unrate_91d": difference(unrate, 91),
        "liquidity_91d": change(usd_liquidity_values(macro, index), 91),
        "btc_off_low": btc / rolling(btc_s, 90, "min") - 1.0,
        "nasdaq_30d": change(nasdaq, 30),
    }
    missing = {
        flag: np.logical_or.reduce([np.isnan(values[c]) for c in cols])
        for flag, cols in FLAG_INPUTS.items()
    }
    sig.warn_missing_rows(index, missing, "hayes-pivot alarm", panel.window_start)
    return AlarmMeasures(index, values, missing)


def alarm_conditions(m: AlarmMeasures, p: HayesPivotParams) -> dict[str, np.ndarray]:
    """Each warning's comparison with its threshold, True where it is on (its missing data,
    `m.missing`, is applied by `alarm_signals`)."""
    f = m.values
    return {
        LEAD: f["btc_vs_nasdaq"] < -p.btc_divergence_pct / 100,
        "gold_up_btc_down": (f["gold_30d"] > 0) & (f["btc_30d"] < -p.btc_drop_pct / 100),
        "software_lagging": f["igv_vs_qqq"] < -p.igv_lag_pct / 100,
        "staples_over_discretionary": f["staples"] > p.staples_rise_pct / 100,
        "lenders_over_borrowers": f["axp_vs_igv"] > p.lender_lead_pct / 100,
        "regional_banks_drawdown": f["kre"] < -p.kre_drawdown_pct / 100,
        "hy_spreads_widening": f["hy_60d"] > p.hy_widening_pts,
        "unemployment_rising": (f["unrate_rise"] >= p.unrate_rise_pts) & (f["unrate_91d"] > 0),
    }


def alarm_signals(m: AlarmMeasures, p: HayesPivotParams) -> pd.DataFrame:
    """The warnings (1/0, NaN where their inputs are missing), how many confirmers are on,
    the alarm and pivot triggers and the BTC case, on the panel calendar.

    Each column is written into its row of one table, which the frame then holds as its
    only block: a sweep builds a frame per distinct set, and this skips copying the
    columns into a frame."""
    table = np.empty((len(SIGNAL_COLUMNS), len(m.index)))
    column = dict(zip(SIGNAL_COLUMNS, table, strict=True))  # each a view of its row
    for name, on in alarm_conditions(m, p).items():
        column[name][:] = on
        np.copyto(column[name], np.nan, where=m.missing[name])  # unknown, not off
    confirmed = column["confirmed"]
    confirmed[:] = 0.0
    for name in CONFIRMERS:  # counts of 0/1: exact in any order; unknown counts as off
        confirmed += column[name] == 1.0
    lead = column[LEAD] == 1.0  # NaN (unknown) is not 1
    column["alarm"][:] = lead & (confirmed >= p.confirmations)
    liquidity_turn = m.values["liquidity_91d"] > p.liquidity_turn_pct / 100
    column["pivot"][:] = liquidity_turn & p.data_pivots
    column["btc_case"][:] = btc_case(m, p)
    # the frame's block is the table itself (one row per column, as pandas stacks them)
    return pd.DataFrame(table.T, index=m.index, columns=SIGNAL_COLUMNS, copy=False)


def btc_case(m: AlarmMeasures, p: HayesPivotParams) -> np.ndarray:
    """2 while BTC is at its 90-day low (still falling with stocks), 1 while BTC holds above
    it as the Nasdaq falls over 30 days (stocks catching down), 0 otherwise or unknown."""
    off_low = m.values["btc_off_low"]
    at_low = off_low <= p.btc_low_pct / 100
    above_low = off_low > p.btc_low_pct / 100  # neither at nor above when unknown (NaN)
    catching_down = above_low & (m.values["nasdaq_30d"] < 0)
    return np.where(at_low, 2.0, catching_down)  # 2.0, else 1.0 or 0.0


def usd_liquidity(panel: Panel) -> pd.Series:
    macro = panel.macro
    return sig.liquidity_index(
        macro_series(macro, "WALCL"),
        macro_series(macro, "WTREGEN"),
        macro_series(macro, "RRPONTSYD"),
    ).rename("usd_liquidity")


def macro_series(macro: pd.DataFrame, series_id: str) -> pd.Series:
    if series_id in macro:
        return macro[series_id]
    return pd.Series(float("nan"), index=macro.index, name=series_id)


def usd_liquidity_values(macro: dict[str, np.ndarray], index: pd.Index) -> np.ndarray:
    """`usd_liquidity` on the macro columns as arrays (`columns`)."""
    return sig.liquidity_index(
        macro.get("WALCL", unknown(index)),
        macro.get("WTREGEN", unknown(index)),
        macro.get("RRPONTSYD", unknown(index)),
    )


def columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """A frame's columns as float64 arrays, read in one go (looking each column up in the
    frame cost more than the arithmetic it fed)."""
    return dict(zip(frame.columns, frame.to_numpy(dtype="float64").T, strict=True))


def unknown(index: pd.Index) -> np.ndarray:
    """A series the panel does not have: no value on any bar (as `macro_series`)."""
    return np.full(len(index), np.nan)

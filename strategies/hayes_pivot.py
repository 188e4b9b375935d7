"""hayes-pivot: de-lever on credit stress, wait in T-bills for the Fed pivot, then buy BTC.

Thesis (Arthur Hayes): AI job losses -> consumer-credit and mortgage losses -> non-TBTF bank
stocks crash -> the Fed is forced to print. "Shorting is a fool's game": de-lever, keep
liquidity, wait for the pivot, then buy convexity.

Rules and the claim each encodes:
- Credit-stress warnings, each a flag (see `stress_components`):
  BTC diverging from the Nasdaq-100 (BTC is the liquidity fire alarm: it falls first),
  gold up while BTC down (flight to the old hedge), software (IGV) lagging QQQ (AI eats
  knowledge work), staples over discretionary (XLP/XLY: the consumer is squeezed), regional
  banks (KRE) in drawdown (non-TBTF banks take the credit losses), high-yield spreads
  widening, USD liquidity falling. The stress score is the share of *available* flags that
  are on; a flag with no data yet is dropped from the score, never filled.
- Risk-off when the score reaches `stress_threshold`: hold cash at the T-bill rate. Never short.
- Risk-on only after a pivot: a Fed calendar event of a `pivot_kinds` kind (emergency cut or
  facility, QE, balance-sheet restart, first cut after hikes) or, with `data_pivots`, a
  first fed-funds cut after a hike cycle or USD liquidity turning up in the data, once the
  stress score is below the threshold again (data alone is weaker evidence than the Fed).
- After a pivot, hold through the noise for `hold_after_pivot_days` (the printing has begun);
  a data pivot while already invested is easing continuing and does not restart that hold.
- `max_wait_days` caps time spent waiting (None: wait for the pivot, however long).
- Risk-on basket: BTC plus optional ZEC and HYPE; an alt with no price yet waits in cash.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field, model_validator

from engine import signals as sig
from engine.data.panel import Panel
from strategies.base import Context, Event, Inputs, Rebalance, Strategy, StrategyParams, Weights

PIVOT_KINDS = (
    "emergency_cut",
    "emergency_facility",
    "qe_start",
    "balance_sheet_pivot",
    "first_cut",
)
STRESS_MACRO = ("BAMLH0A0HYM2", "WALCL", "WTREGEN", "RRPONTSYD", "DFF")


class HayesPivotParams(StrategyParams):
    btc_weight: float = Field(1.0, ge=0, le=1, description="BTC share of the risk-on basket")
    zec_weight: float = Field(0.0, ge=0, le=1, description="ZEC share of the risk-on basket")
    hype_weight: float = Field(0.0, ge=0, le=1, description="HYPE share of the risk-on basket")
    hype_symbol: str = Field("HYPE-USD", description="Hyperliquid's symbol in your data")
    nasdaq_symbol: str = Field("QQQ", description="the Nasdaq-100 BTC is compared with")
    gold_symbol: str = Field("GLD", description="the gold price")
    stress_threshold: float = Field(0.5, gt=0, le=1, description="share of flags on to de-lever")
    min_stress_inputs: int = Field(3, ge=1, le=7, description="flags needed for a score")
    btc_divergence_pct: float = Field(
        20, gt=0, description="BTC's 90-day drawdown worse than Nasdaq's by this many points"
    )
    btc_drop_pct: float = Field(10, gt=0, description="BTC 30-day fall for gold-up-BTC-down")
    igv_lag_pct: float = Field(5, gt=0, description="IGV behind QQQ over 60 days, points")
    staples_rise_pct: float = Field(5, gt=0, description="XLP/XLY rise over 60 days, percent")
    kre_drawdown_pct: float = Field(20, gt=0, description="KRE below its 1-year high, percent")
    hy_widening_pts: float = Field(1.0, gt=0, description="HY OAS rise over 60 days, points")
    liquidity_drop_pct: float = Field(3, gt=0, description="USD liquidity fall over 91 days, %")
    pivot_kinds: tuple[str, ...] = Field(PIVOT_KINDS, description="Fed event kinds that pivot")
    data_pivots: bool = Field(True, description="also pivot on first cut / liquidity turn in data")
    liquidity_turn_pct: float = Field(
        3, gt=0, description="USD liquidity rise over 91 days that counts as a pivot, percent"
    )
    hold_after_pivot_days: int = Field(
        90, ge=0, description="ignore stress this long after a pivot"
    )
    max_wait_days: int | None = Field(None, gt=0, description="cap on waiting for a pivot")

    @model_validator(mode="after")
    def _basket_is_unlevered(self) -> HayesPivotParams:
        total = self.btc_weight + self.zec_weight + self.hype_weight
        if not 0 < total <= 1 + 1e-12:
            raise ValueError(f"basket weights sum to {total:g}; they must be in (0, 1]")
        return self


class HayesPivot(Strategy):
    name = "hayes-pivot"
    thesis = (
        "AI credit stress -> de-lever into T-bills, never short; buy BTC (and alts) after "
        "the Fed pivots."
    )
    Params = HayesPivotParams
    p: HayesPivotParams
    triggers = ("stress", "pivot")

    def reset(self) -> None:
        self.waiting = False
        self.waiting_since: pd.Timestamp | None = None
        self.last_pivot: pd.Timestamp | None = None

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
            "KRE",
        )
        return Inputs(symbols=symbols, macro=STRESS_MACRO)

    def rebalance(self) -> Rebalance:
        return "monthly"

    def signals(self, panel: Panel) -> pd.DataFrame:
        components = stress_components(panel, self.p)
        sig.warn_missing(components, "hayes-pivot stress", panel.window_start)
        score = sig.stress_score(components, self.p.min_stress_inputs)
        stress = (score["stress_score"] >= self.p.stress_threshold).astype(float)
        frame = pd.concat([components, score], axis=1)
        frame["stress"] = stress
        frame["pivot"] = data_pivot(panel, self.p) if self.p.data_pivots else 0.0
        return frame

    def on_event(self, event: Event, ctx: Context) -> Weights | None:
        if event.kind == "start":
            self.waiting = bool(ctx.signal("stress") == 1.0)
            self.waiting_since = event.time if self.waiting else None
            return {} if self.waiting else self.invested(ctx)
        if self.waiting:
            return self.while_waiting(event, ctx)
        if self.is_fed_pivot(event):
            self.last_pivot = event.time  # the Fed acting restarts the hold
            return None
        stressed = event.kind == "signal:stress:on" or (
            event.kind == "rebalance" and ctx.signal("stress") == 1.0
        )
        if stressed and not self.holding_after_pivot(event.time):
            self.waiting, self.waiting_since = True, event.time
            return {}
        if event.kind in ("rebalance", "listing"):
            target = self.invested(ctx)
            return None if target == dict(ctx.weights) else target
        return None

    def while_waiting(self, event: Event, ctx: Context) -> Weights | None:
        """In T-bills: the Fed pivoting ends the wait; a pivot seen only in data needs stress
        to have cleared too (a TGA swing is weaker evidence than an announcement)."""
        calm = ctx.signal("stress") != 1.0
        data_pivot = event.kind in ("signal:pivot:on", "rebalance") and ctx.signal("pivot") == 1.0
        waited = (event.time - self.waiting_since).days if self.waiting_since is not None else 0
        too_long = self.p.max_wait_days is not None and waited >= self.p.max_wait_days
        if self.is_fed_pivot(event) or (data_pivot and calm):
            self.last_pivot = event.time
        elif not (too_long and calm and event.kind == "rebalance"):
            return None
        self.waiting, self.waiting_since = False, None
        return self.invested(ctx)

    def is_fed_pivot(self, event: Event) -> bool:
        return event.kind.startswith("fed:") and event.kind[4:] in self.p.pivot_kinds

    def holding_after_pivot(self, now: pd.Timestamp) -> bool:
        if self.last_pivot is None:
            return False
        return (now - self.last_pivot).days < self.p.hold_after_pivot_days

    def invested(self, ctx: Context) -> dict[str, float]:
        """The basket; a part with no price yet stays in cash."""
        return {s: w for s, w in self.basket().items() if s in ctx.tradable}


def stress_components(panel: Panel, p: HayesPivotParams) -> pd.DataFrame:
    """Each credit-stress warning as a 1/0 flag (NaN where its inputs are missing)."""
    px, macro = panel.prices, panel.macro
    btc, nasdaq, gold = px["BTC-USD"], px[p.nasdaq_symbol], px[p.gold_symbol]
    btc_vs_nasdaq = sig.drawdown_from_high(btc, 90) - sig.drawdown_from_high(nasdaq, 90)
    btc_30d, gold_30d = sig.change(btc, 30), sig.change(gold, 30)
    igv_vs_qqq = sig.change(px["IGV"], 60) - sig.change(px["QQQ"], 60)
    staples = sig.change(px["XLP"] / px["XLY"], 60)
    kre = sig.drawdown_from_high(px["KRE"], 365)
    hy = macro_series(macro, "BAMLH0A0HYM2")
    liquidity = usd_liquidity(panel)
    flags = {
        "btc_diverging_from_nasdaq": _below(btc_vs_nasdaq, -p.btc_divergence_pct / 100),
        "gold_up_btc_down": sig.flag(
            (gold_30d > 0) & (btc_30d < -p.btc_drop_pct / 100), gold_30d.isna() | btc_30d.isna()
        ),
        "software_lagging": _below(igv_vs_qqq, -p.igv_lag_pct / 100),
        "staples_over_discretionary": _above(staples, p.staples_rise_pct / 100),
        "regional_banks_drawdown": _below(kre, -p.kre_drawdown_pct / 100),
        "hy_spreads_widening": _above(sig.difference(hy, 60), p.hy_widening_pts),
        "usd_liquidity_falling": _below(sig.change(liquidity, 91), -p.liquidity_drop_pct / 100),
    }
    return pd.DataFrame(flags, index=panel.index)


def usd_liquidity(panel: Panel) -> pd.Series:
    macro = panel.macro
    return sig.liquidity_index(
        macro_series(macro, "WALCL"),
        macro_series(macro, "WTREGEN"),
        macro_series(macro, "RRPONTSYD"),
    ).rename("usd_liquidity")


def data_pivot(panel: Panel, p: HayesPivotParams) -> pd.Series:
    """A pivot seen in the data: first fed-funds cut after hikes, or liquidity turning up."""
    cut = sig.first_cut_after_hikes(macro_series(panel.macro, "DFF"))
    turn = _above(sig.change(usd_liquidity(panel), 91), p.liquidity_turn_pct / 100)
    return ((cut == 1.0) | (turn == 1.0)).astype(float)


def macro_series(macro: pd.DataFrame, series_id: str) -> pd.Series:
    if series_id in macro:
        return macro[series_id]
    return pd.Series(float("nan"), index=macro.index, name=series_id)


def _below(series: pd.Series, threshold: float) -> pd.Series:
    return sig.flag(series < threshold, series.isna())


def _above(series: pd.Series, threshold: float) -> pd.Series:
    return sig.flag(series > threshold, series.isna())

"""hayes-pivot: de-lever on credit stress, wait in T-bills for the Fed pivot, then buy BTC.

Thesis (Arthur Hayes): AI job losses -> consumer-credit and mortgage losses -> non-TBTF bank
stocks crash -> the Fed is forced to print. "Shorting is a fool's game": de-lever, keep
liquidity, wait for the pivot, then buy convexity.

Rules and the claim each encodes:
- Credit-stress warnings, each a flag (see `stress_measures` and `stress_flags`):
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

A sweep decides for thousands of parameter sets at once with `decide_many`: the same rules
over arrays in `strategies.hayes_pivot_batch`, held to `on_event` by tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from pandas.api.internals import create_dataframe_from_blocks
from pydantic import Field, model_validator

from engine import signals as sig
from engine.data.panel import Panel
from strategies.base import (
    Context,
    Event,
    Inputs,
    Rebalance,
    SignalSource,
    Strategy,
    StrategyParams,
    Weights,
)

if TYPE_CHECKING:
    from engine.decisions import Decisions

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

    def measures(self, panel: Panel) -> StressMeasures:
        """What the stress flags and the data pivot compare with thresholds (no threshold
        read): a sweep computes them once per panel and shares them between sets."""
        return stress_measures(panel, self.p)

    def signals(self, panel: Panel, measures: StressMeasures | None = None) -> pd.DataFrame:
        m = self.measures(panel) if measures is None else measures
        return stress_signals(panel, m, self.p)

    @classmethod
    def decide_many(
        cls,
        strategies: Sequence[Strategy],
        panel: Panel,
        signals: SignalSource,
        leverage_cap: float,
    ) -> Decisions | None:
        """A sweep's sets at once: these rules over arrays (`strategies.hayes_pivot_batch`)."""
        from strategies.hayes_pivot_batch import decide_many

        return decide_many(strategies, panel, signals, leverage_cap)

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


FLAGS = (
    "btc_diverging_from_nasdaq",
    "gold_up_btc_down",
    "software_lagging",
    "staples_over_discretionary",
    "regional_banks_drawdown",
    "hy_spreads_widening",
    "usd_liquidity_falling",
)
SIGNAL_COLUMNS = (*FLAGS, "stress_score", "stress_inputs", "stress", "pivot")
FLOAT_PLACES = np.array([0, 1, 2, 3, 4, 5, 6, 7, 9, 10])  # SIGNAL_COLUMNS but the int count
INT_PLACES = np.array([8])
SIGNAL_INDEX = pd.Index(SIGNAL_COLUMNS)


@dataclass(frozen=True, eq=False)
class StressMeasures:
    """The series the credit-stress flags compare with their thresholds, on the panel calendar.

    Drawdowns and changes over fixed windows: they depend on the panel and the two symbol
    params only, never on a threshold, so sets that differ in thresholds share them.
    """

    btc_vs_nasdaq: np.ndarray  # BTC's 90-day drawdown minus the Nasdaq's
    btc_30d: np.ndarray  # 30-day changes
    gold_30d: np.ndarray
    igv_vs_qqq: np.ndarray  # IGV's 60-day change minus QQQ's
    staples: np.ndarray  # XLP/XLY's 60-day change
    kre: np.ndarray  # KRE below its 1-year high
    hy_60d: np.ndarray  # HY OAS change over 60 days, points
    liquidity_91d: np.ndarray  # USD liquidity's 91-day change
    first_cut: np.ndarray  # bool: a first fed-funds cut after hikes
    unknown: tuple[tuple[slice | np.ndarray, ...], ...]  # per flag: the bars its inputs miss
    inputs: np.ndarray  # int64: flags available on each bar
    enough: np.ndarray  # row k: `inputs` where at least k (and 1) are available, else NaN


def stress_measures(panel: Panel, p: HayesPivotParams) -> StressMeasures:
    """The measures behind each credit-stress warning; warns once per flag missing data in
    the window (it is dropped from the score there, never filled)."""
    px, macro = panel.prices, panel.macro
    btc, nasdaq, gold = px["BTC-USD"], px[p.nasdaq_symbol], px[p.gold_symbol]
    liquidity_91d = sig.change(usd_liquidity(panel), 91)
    cut = sig.first_cut_after_hikes(macro_series(macro, "DFF"))
    measured = {
        "btc_vs_nasdaq": sig.drawdown_from_high(btc, 90) - sig.drawdown_from_high(nasdaq, 90),
        "btc_30d": sig.change(btc, 30),
        "gold_30d": sig.change(gold, 30),
        "igv_vs_qqq": sig.change(px["IGV"], 60) - sig.change(px["QQQ"], 60),
        "staples": sig.change(px["XLP"] / px["XLY"], 60),
        "kre": sig.drawdown_from_high(px["KRE"], 365),
        "hy_60d": sig.difference(macro_series(macro, "BAMLH0A0HYM2"), 60),
        "liquidity_91d": liquidity_91d,
    }
    values = {name: s.to_numpy(dtype=np.float64) for name, s in measured.items()}
    missing = {name: np.isnan(v) for name, v in values.items()}
    unknown = np.stack(
        [
            missing["btc_vs_nasdaq"],
            missing["gold_30d"] | missing["btc_30d"],
            missing["igv_vs_qqq"],
            missing["staples"],
            missing["kre"],
            missing["hy_60d"],
            missing["liquidity_91d"],
        ]
    )
    sig.warn_missing(
        pd.DataFrame(np.where(unknown, np.nan, 0.0).T, index=panel.index, columns=list(FLAGS)),
        "hayes-pivot stress",
        panel.window_start,
    )
    inputs = (~unknown).sum(axis=0, dtype=np.int64)
    least = np.maximum(np.arange(len(FLAGS) + 1), 1)[:, None]
    return StressMeasures(
        **values,
        first_cut=(cut == 1.0).to_numpy(dtype=bool),
        unknown=tuple(_runs(missing_bars) for missing_bars in unknown),
        inputs=inputs,
        enough=np.where(inputs >= least, inputs, np.nan),
    )


def stress_flags(m: StressMeasures, p: HayesPivotParams) -> np.ndarray:
    """Each credit-stress warning as a 1/0 flag (NaN where its inputs are missing), flags x
    bars."""
    flags = _stress_conditions(m, thresholds(p), np.empty((len(FLAGS), len(m.inputs))))
    _mark_unknown(flags, m)
    return flags


def _mark_unknown(flags: np.ndarray, m: StressMeasures) -> None:
    for flag, runs in zip(flags, m.unknown, strict=True):
        for run in runs:
            flag[run] = np.nan


class Thresholds(NamedTuple):
    """The numbers the flags, the score and the pivot compare the measures with, read from
    the params in one place (the sweep's array path compares with the same numbers)."""

    btc_divergence: float  # btc_vs_nasdaq below this
    btc_drop: float  # btc_30d below this (with gold_30d above 0)
    igv_lag: float  # igv_vs_qqq below this
    staples_rise: float  # staples above this
    kre_drawdown: float  # kre below this
    hy_widening: float  # hy_60d above this
    liquidity_drop: float  # liquidity_91d below this
    min_inputs: int  # flags needed for a score
    stress: float  # the score at or above this is stress
    data_pivots: bool  # whether the data can pivot at all
    liquidity_turn: float  # liquidity_91d above this is a data pivot


def thresholds(p: HayesPivotParams) -> Thresholds:
    return Thresholds(
        btc_divergence=-p.btc_divergence_pct / 100,
        btc_drop=-p.btc_drop_pct / 100,
        igv_lag=-p.igv_lag_pct / 100,
        staples_rise=p.staples_rise_pct / 100,
        kre_drawdown=-p.kre_drawdown_pct / 100,
        hy_widening=p.hy_widening_pts,
        liquidity_drop=-p.liquidity_drop_pct / 100,
        min_inputs=p.min_stress_inputs,
        stress=p.stress_threshold,
        data_pivots=p.data_pivots,
        liquidity_turn=p.liquidity_turn_pct / 100,
    )


def _stress_conditions(m: StressMeasures, t: Thresholds, flags: np.ndarray) -> np.ndarray:
    """The flags' conditions as 1/0 into `flags` (0 where a measure is missing: a comparison
    with NaN is False)."""
    np.less(m.btc_vs_nasdaq, t.btc_divergence, out=flags[0])
    flags[1] = (m.gold_30d > 0) & (m.btc_30d < t.btc_drop)
    np.less(m.igv_vs_qqq, t.igv_lag, out=flags[2])
    np.greater(m.staples, t.staples_rise, out=flags[3])
    np.less(m.kre, t.kre_drawdown, out=flags[4])
    np.greater(m.hy_60d, t.hy_widening, out=flags[5])
    np.less(m.liquidity_91d, t.liquidity_drop, out=flags[6])
    return flags


def data_pivot(m: StressMeasures, t: Thresholds) -> np.ndarray:
    """A pivot seen in the data: first fed-funds cut after hikes, or liquidity turning up."""
    return m.first_cut | (m.liquidity_91d > t.liquidity_turn)


def stress_signals(panel: Panel, m: StressMeasures, p: HayesPivotParams) -> pd.DataFrame:
    """The flags, the stress score (`sig.stress_score`: the share of available flags that are
    on, NaN with fewer than `min_stress_inputs`, and how many were available), the stress and
    the pivot triggers, on the panel calendar.

    Written into the frame's two blocks (floats, the int count) directly: a sweep builds
    thousands, and a DataFrame column by column costs more than the arithmetic.
    """
    index = panel.prices.index
    if m.inputs.shape != (len(index),):
        raise ValueError("these measures were computed on another panel")
    t = thresholds(p)
    floats = np.empty((len(FLOAT_PLACES), len(index)))
    flags, score = _stress_conditions(m, t, floats[: len(FLAGS)]), floats[len(FLAGS)]
    np.add(flags[0], flags[1], out=score)  # the flags on: whole numbers, so exact
    for flag in flags[2:]:
        np.add(score, flag, out=score)
    _mark_unknown(flags, m)
    np.divide(score, m.enough[t.min_inputs], out=score)
    np.greater_equal(score, t.stress, out=floats[len(FLAGS) + 1])
    floats[len(FLAGS) + 2] = data_pivot(m, t) if t.data_pivots else 0.0
    return create_dataframe_from_blocks(
        [(floats, FLOAT_PLACES), (m.inputs[None, :].copy(), INT_PLACES)],
        index=index,
        columns=SIGNAL_INDEX.view(),
    )


def _runs(mask: np.ndarray, most: int = 16) -> tuple[slice | np.ndarray, ...]:
    """Where a boolean array is True: its runs as slices (a warm-up, a gap), or the positions
    when there are more than `most` runs."""
    edges = np.flatnonzero(np.diff(np.r_[False, mask, False].astype(np.int8)))
    if len(edges) > 2 * most:
        return (np.flatnonzero(mask),)
    return tuple(slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True))


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

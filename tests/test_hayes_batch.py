"""hayes-pivot for many sets at once: `decide_many` equals the event walk, shared measures
give the same signals as a plain `signals(panel)`, and a tiny case checked by hand."""

from __future__ import annotations

import dataclasses
import random
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel

from engine import signals as sig
from engine.config import RunConfig, load_run_config
from engine.data.panel import Panel
from engine.run import prepare
from engine.schedule import build_schedule, decide_all
from engine.signals import MissingInputWarning
from engine.sweep.shared_signals import SignalMemo
from strategies.hayes_pivot import (
    PIVOT_KINDS,
    HayesPivot,
    HayesPivotParams,
    macro_series,
    thresholds,
    usd_liquidity,
)
from strategies.hayes_pivot_batch import frame_events, measured_events, stress_and_pivot

REPO = Path(__file__).resolve().parents[1]
BASKETS = [(1.0, 0.0, 0.0), (0.6, 0.0, 0.0), (0.7, 0.15, 0.15), (0.4, 0.3, 0.3)]
BASKETS += [(1 / 3, 1 / 3, 1 / 3), (0.5, 0.5, 0.0), (0.8, 0.0, 0.2), (0.1, 0.05, 0.05)]
OTHER_FED_KINDS = ("cut", "crisis", "qt_start")  # on the panels, not pivots by default
EVERY = {"start", "fed", "signal:stress:on", "signal:pivot:on", "rebalance"}  # decided at


def random_params(rng: random.Random, alts: bool) -> HayesPivotParams:
    """A set drawn over every parameter that changes a decision (and some signal ones)."""
    btc, zec, hype = rng.choice(BASKETS) if alts else (rng.choice([1.0, 0.6, 0.25]), 0.0, 0.0)
    kinds = [k for k in (*PIVOT_KINDS, *OTHER_FED_KINDS) if rng.random() < 0.4]
    return HayesPivotParams(
        btc_weight=btc,
        zec_weight=zec,
        hype_weight=hype,
        stress_threshold=rng.choice([0.15, 0.3, 0.4, 0.5, 0.6, 0.75, 1.0]),
        min_stress_inputs=rng.randint(1, 7),
        kre_drawdown_pct=rng.uniform(5, 35),
        hy_widening_pts=rng.uniform(0.25, 2.5),
        btc_divergence_pct=rng.choice([10, 20, 30]),
        liquidity_drop_pct=rng.choice([2, 3, 5]),
        liquidity_turn_pct=rng.uniform(0.5, 6),
        hold_after_pivot_days=rng.choice([0, 0, 1, 7, 30, 90, 180, 400]),
        max_wait_days=rng.choice([None, None, None, 1, 3, 10, 30, 120]),
        data_pivots=rng.random() < 0.6,
        pivot_kinds=tuple(rng.sample(kinds, len(kinds))) if rng.random() < 0.9 else (),
    )


def real_config(shared_data: Path, name: str, **update) -> RunConfig:
    base = load_run_config(REPO / "configs" / name)
    data = base.data.model_copy(update={"source": "directory", "path": shared_data.resolve()})
    config = base.model_copy(update={"data": data, **update})
    return RunConfig.model_validate(config.model_dump())


class GivenFrames:
    """A signal source that hands out given frames (no shared measures): the batch reads the
    frames' own stress and pivot columns, as the walk does."""

    def __init__(self, strategies, frames) -> None:
        self.by_set = {id(s): f for s, f in zip(strategies, frames, strict=True)}

    def signals(self, strategy):
        return self.by_set[id(strategy)]

    def measures(self, strategy):
        return None


def assert_batch_equals_walk(
    panel: Panel, params: list[HayesPivotParams], cap: float, shared: bool = True
) -> set[str]:
    """decide_many (through decide_all) against build_schedule, set by set, per universe;
    returns the kinds of event the walk decided at (what the sets exercised)."""
    groups: dict[tuple[str, ...], list[HayesPivot]] = {}
    for p in params:
        strategy = HayesPivot(p)
        groups.setdefault(strategy.universe(), []).append(strategy)
    memo, decided_at = SignalMemo(panel), set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        for universe, strategies in groups.items():
            # shared: the batch compares thresholds on the memo's measures; else it reads
            # each set's own frame
            frames = [memo.signals(s) if shared else s.signals(panel) for s in strategies]
            source = memo if shared else GivenFrames(strategies, frames)
            batch = HayesPivot.decide_many(strategies, panel, source, cap)
            assert batch is not None, "the fast path fell back"
            assert batch.symbols == universe and batch.sets == len(strategies)
            via_engine = decide_all(strategies, panel, cap, source)
            assert np.array_equal(via_engine.bar, batch.bar)
            for k, (strategy, frame) in enumerate(zip(strategies, frames, strict=True)):
                schedule = build_schedule(strategy, panel, cap, frame)
                walked = schedule.targets
                assert tuple(walked.columns) == universe
                at = batch.rows(k)
                assert np.array_equal(batch.bar[at], panel.index.get_indexer(walked.index)), k
                weights = walked.to_numpy(dtype=np.float64)
                assert np.array_equal(batch.weights[at], weights), (k, strategy.p)
                assert np.array_equal(batch.weights[at].view(np.int64), weights.view(np.int64))
                log = schedule.log[schedule.log["decided"]]
                decided_at |= {
                    kind.split(":")[0] if kind.startswith("fed:") else kind for kind in log["kind"]
                }
                if schedule.capped:
                    decided_at.add("capped")
    return decided_at


@pytest.fixture(scope="module")
def synthetic_panels() -> dict[str, Panel]:
    return {
        name: prepare(load_run_config(REPO / "configs" / f"{name}.yaml"))[1]
        for name in ("hayes-pivot", "hayes-pivot-alts")
    }


def test_decide_many_equals_the_walk_on_the_synthetic_btc_panel(synthetic_panels):
    rng = random.Random(20260101)
    params = [random_params(rng, alts=False) for _ in range(80)]
    assert assert_batch_equals_walk(synthetic_panels["hayes-pivot"], params, 1.0) >= EVERY


def test_decide_many_equals_the_walk_on_the_synthetic_alts_panel(synthetic_panels):
    panel = synthetic_panels["hayes-pivot-alts"]
    assert {panel.first_bar("ZEC-USD"), panel.first_bar("HYPE-USD")} != {panel.index[0]}
    rng = random.Random(20260102)
    params = [random_params(rng, alts=True) for _ in range(160)]
    assert len({HayesPivot(p).universe() for p in params}) >= 3
    assert assert_batch_equals_walk(panel, params, 1.0) >= {*EVERY, "listing"}
    capped = assert_batch_equals_walk(panel, params[:60], 0.55, shared=False)
    assert capped >= {*EVERY, "listing", "capped"}


@pytest.mark.realdata
def test_decide_many_equals_the_walk_on_real_history(shared_data):
    rng = random.Random(20260103)
    _, panel = prepare(real_config(shared_data, "hayes-pivot-alts.yaml"))
    params = [random_params(rng, alts=True) for _ in range(120)]
    assert assert_batch_equals_walk(panel, params, 1.0) >= {*EVERY, "listing"}

    later = real_config(
        shared_data, "hayes-pivot-alts.yaml", start=date(2019, 6, 3), leverage_cap=0.6
    )
    _, panel = prepare(later)
    assert panel.window_start == pd.Timestamp("2019-06-03")
    params = [random_params(rng, alts=True) for _ in range(60)]
    assert assert_batch_equals_walk(panel, params, later.leverage_cap) >= {*EVERY, "capped"}

    _, panel = prepare(real_config(shared_data, "hayes-pivot.yaml", start=date(2016, 1, 1)))
    params = [random_params(rng, alts=False) for _ in range(60)]
    assert assert_batch_equals_walk(panel, params, 0.8) >= {*EVERY, "capped"}


def test_decide_many_falls_back_where_it_does_not_cover(synthetic_panels):
    panel = synthetic_panels["hayes-pivot-alts"]

    class Tweaked(HayesPivot):
        pass

    mixed = [
        HayesPivot(HayesPivotParams()),
        HayesPivot(HayesPivotParams(btc_weight=0.8, zec_weight=0.2)),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        frames = [s.signals(panel) for s in mixed]
        memo = SignalMemo(panel)
        memo.measures(mixed[0])  # computed (and warned about) here
    assert HayesPivot.decide_many(mixed, panel, memo, 1.0) is None  # two universes
    tweaked = [Tweaked(HayesPivotParams())]
    assert HayesPivot.decide_many(tweaked, panel, memo, 1.0) is None  # a subclass
    odd = frames[0].assign(stress=frames[0]["stress"].astype("Float64"))  # pd.NA possible
    assert HayesPivot.decide_many(mixed[:1], panel, GivenFrames(mixed[:1], [odd]), 1.0) is None
    shifted = frames[0].iloc[1:]
    assert HayesPivot.decide_many(mixed[:1], panel, GivenFrames(mixed[:1], [shifted]), 1.0) is None
    assert HayesPivot.decide_many(mixed[:1], panel, GivenFrames(mixed[:1], frames[:1]), 1.0)


# -- signals: shared measures, the same frame --------------------------------------------


def reference_signals(panel: Panel, p: HayesPivotParams) -> pd.DataFrame:
    """hayes-pivot's signals as defined before measures were split out (pandas, column by
    column): what the faster frame must equal bit for bit."""
    px, macro = panel.prices, panel.macro
    btc, nasdaq, gold = px["BTC-USD"], px[p.nasdaq_symbol], px[p.gold_symbol]
    btc_vs_nasdaq = sig.drawdown_from_high(btc, 90) - sig.drawdown_from_high(nasdaq, 90)
    btc_30d, gold_30d = sig.change(btc, 30), sig.change(gold, 30)
    igv_vs_qqq = sig.change(px["IGV"], 60) - sig.change(px["QQQ"], 60)
    staples = sig.change(px["XLP"] / px["XLY"], 60)
    kre = sig.drawdown_from_high(px["KRE"], 365)
    hy = macro_series(macro, "BAMLH0A0HYM2")
    liquidity = sig.change(usd_liquidity(panel), 91)

    def below(series: pd.Series, threshold: float) -> pd.Series:
        return sig.flag(series < threshold, series.isna())

    def above(series: pd.Series, threshold: float) -> pd.Series:
        return sig.flag(series > threshold, series.isna())

    flags = {
        "btc_diverging_from_nasdaq": below(btc_vs_nasdaq, -p.btc_divergence_pct / 100),
        "gold_up_btc_down": sig.flag(
            (gold_30d > 0) & (btc_30d < -p.btc_drop_pct / 100), gold_30d.isna() | btc_30d.isna()
        ),
        "software_lagging": below(igv_vs_qqq, -p.igv_lag_pct / 100),
        "staples_over_discretionary": above(staples, p.staples_rise_pct / 100),
        "regional_banks_drawdown": below(kre, -p.kre_drawdown_pct / 100),
        "hy_spreads_widening": above(sig.difference(hy, 60), p.hy_widening_pts),
        "usd_liquidity_falling": below(liquidity, -p.liquidity_drop_pct / 100),
    }
    components = pd.DataFrame(flags, index=panel.index)
    sig.warn_missing(components, "hayes-pivot stress", panel.window_start)
    score = sig.stress_score(components, p.min_stress_inputs)
    frame = pd.concat([components, score], axis=1)
    frame["stress"] = (score["stress_score"] >= p.stress_threshold).astype(float)
    if p.data_pivots:
        cut = sig.first_cut_after_hikes(macro_series(macro, "DFF"))
        turn = above(liquidity, p.liquidity_turn_pct / 100)
        frame["pivot"] = ((cut == 1.0) | (turn == 1.0)).astype(float)
    else:
        frame["pivot"] = 0.0
    return frame


def assert_same_bits(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert list(got.columns) == list(expected.columns)
    assert got.columns.dtype == expected.columns.dtype
    for name in expected.columns:
        a, b = got[name].to_numpy(), expected[name].to_numpy()
        assert a.dtype == b.dtype, name
        assert np.array_equal(a.view(np.int64), b.view(np.int64)), name  # NaNs included


def signal_params(rng: random.Random, gold: str = "GLD") -> HayesPivotParams:
    return HayesPivotParams(
        stress_threshold=rng.choice([0.15, 0.3, 0.5, 0.75, 1.0]),
        min_stress_inputs=rng.randint(1, 7),
        btc_divergence_pct=rng.uniform(5, 40),
        btc_drop_pct=rng.uniform(2, 30),
        igv_lag_pct=rng.uniform(1, 15),
        staples_rise_pct=rng.uniform(1, 15),
        kre_drawdown_pct=rng.uniform(5, 40),
        hy_widening_pts=rng.uniform(0.2, 3),
        liquidity_drop_pct=rng.uniform(1, 8),
        liquidity_turn_pct=rng.uniform(1, 8),
        data_pivots=rng.random() < 0.7,
        gold_symbol=gold,
    )


def check_signals(panel: Panel, sets: int, seed: int) -> None:
    rng = random.Random(seed)
    memo = SignalMemo(panel)
    stressed = pivoted = calm = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        for k in range(sets):
            p = signal_params(rng, gold="GLD" if k % 3 else "KRE")  # measures differ by symbol
            expected = reference_signals(panel, p)
            assert_same_bits(HayesPivot(p).signals(panel), expected)
            assert_same_bits(memo.signals(HayesPivot(p)), expected)
            measures = HayesPivot(p).measures(panel)
            assert_same_bits(HayesPivot(p).signals(panel, measures=measures), expected)
            # the sweep's array path: the same trigger bits, compared straight from measures
            stress, pivot = stress_and_pivot(measures, thresholds(p))
            for name, got in (("stress", stress), ("pivot", pivot)):
                want = expected[name].to_numpy()
                assert np.array_equal(got.view(np.int64), want.view(np.int64)), name
            static = np.sort(np.random.default_rng(k).choice(len(stress), 60, replace=False))
            fused = measured_events(measures, thresholds(p), static)
            for got, want in zip(fused, frame_events(stress, pivot, static), strict=True):
                assert got.dtype == want.dtype and np.array_equal(got, want)
            stressed += bool(stress.any())
            pivoted += bool(pivot.any())
            calm += bool((stress == 0).any())
    assert memo.computed == sets
    assert min(stressed, pivoted, calm) >= sets // 4  # the draws exercised both triggers
    (measured,) = memo.measured.values()
    assert len(measured) == 2  # one per gold symbol: computed twice for all the sets


def test_signals_with_shared_measures_equal_plain_signals_bit_for_bit(synthetic_panels):
    check_signals(synthetic_panels["hayes-pivot-alts"], 120, seed=5)


@pytest.mark.realdata
def test_signals_with_shared_measures_equal_plain_signals_on_real_history(shared_data):
    _, panel = prepare(real_config(shared_data, "hayes-pivot-alts.yaml"))
    check_signals(panel, 60, seed=6)


def test_the_memo_shares_measures_and_keys_frames_by_both_reads(synthetic_panels):
    panel = synthetic_panels["hayes-pivot"]
    memo = SignalMemo(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        first = memo.signals(HayesPivot(HayesPivotParams(gold_symbol="GLD")))
        again = memo.signals(HayesPivot(HayesPivotParams(gold_symbol="GLD", max_wait_days=5)))
        other = memo.signals(HayesPivot(HayesPivotParams(gold_symbol="KRE")))
    assert again is first and other is not first  # gold_symbol is read by measures only
    (names,) = memo.frames
    assert {"gold_symbol", "nasdaq_symbol", "stress_threshold"} <= set(names)
    assert "max_wait_days" not in names and memo.computed == 2


def test_plain_signals_still_warn_about_missing_inputs(synthetic_panels):
    panel = synthetic_panels["hayes-pivot"]
    p = HayesPivotParams()
    with warnings.catch_warnings(record=True) as before:
        warnings.simplefilter("always", MissingInputWarning)
        reference_signals(panel, p)
    with warnings.catch_warnings(record=True) as now:
        warnings.simplefilter("always", MissingInputWarning)
        HayesPivot(p).signals(panel)
    messages = [str(w.message) for w in now if w.category is MissingInputWarning]
    assert messages and messages == [str(w.message) for w in before]
    with pytest.warns(MissingInputWarning):
        SignalMemo(panel).signals(HayesPivot(p))  # computing the measures warns once


# -- a tiny case checked by hand ---------------------------------------------------------

DAYS = pd.date_range("2024-01-26", periods=12, freq="D")  # bar 6 is Feb 1: the rebalance
STRESS = [0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0]  # on at bars 2 and 8
PIVOT = [0] * 10 + [1, 0]  # a data pivot at bar 10


@pytest.fixture
def tiny() -> tuple[Panel, pd.DataFrame]:
    panel = make_panel(
        {
            "BTC-USD": [100.0 + i for i in range(12)],
            "ZEC-USD": pd.Series(50.0, index=DAYS[3:]),  # lists at bar 3
        },
        DAYS,
    )
    events = pd.DataFrame(
        {
            "bar": [DAYS[4], DAYS[7]],
            "date": [DAYS[4], DAYS[7]],
            "kind": ["crisis", "emergency_cut"],
            "description": ["a lender fails", "a Sunday cut"],
        }
    )
    frame = pd.DataFrame({"stress": STRESS, "pivot": PIVOT}, index=panel.index, dtype=float)
    return dataclasses.replace(panel, events=events), frame


CALM = [0] * 12
STRESSED_AT_START = [1, 1, *STRESS[2:]]


@pytest.mark.parametrize(
    ("params", "cap", "stress", "expected"),
    [
        (  # stress at 2 -> cash; the Fed cuts at 7 -> back in; stress at 8 is held through
            {"hold_after_pivot_days": 3},
            1.0,
            STRESS,
            {0: [0.6, 0.0], 2: [0.0, 0.0], 7: [0.6, 0.4]},
        ),
        (  # no hold: stress at 8 -> cash again; the data pivot at 10 (calm) -> back in
            {"hold_after_pivot_days": 0},
            1.0,
            STRESS,
            {0: [0.6, 0.0], 2: [0.0, 0.0], 7: [0.6, 0.4], 8: [0.0, 0.0], 10: [0.6, 0.4]},
        ),
        (  # the cut is no pivot here: 4 days waited by the Feb 1 rebalance >= 3 -> back in
            {"pivot_kinds": (), "max_wait_days": 3},
            1.0,
            STRESS,
            {0: [0.6, 0.0], 2: [0.0, 0.0], 6: [0.6, 0.4], 8: [0.0, 0.0], 10: [0.6, 0.4]},
        ),
        (  # stressed from the start: waiting from bar 0; 6 days by Feb 1 < 7, so until the cut
            {"max_wait_days": 7},
            1.0,
            STRESSED_AT_START,
            {0: [0.0, 0.0], 7: [0.6, 0.4]},
        ),
        (  # the same with the wait capped at exactly the 6 days: back in at the rebalance
            {"pivot_kinds": ("first_cut",), "max_wait_days": 6, "hold_after_pivot_days": 0},
            1.0,
            STRESSED_AT_START,
            {0: [0.0, 0.0], 6: [0.6, 0.4], 8: [0.0, 0.0], 10: [0.6, 0.4]},
        ),
        (  # half the leverage: every target scaled to a gross of 0.5
            {"hold_after_pivot_days": 3},
            0.5,
            STRESS,
            {0: [0.5, 0.0], 2: [0.0, 0.0], 7: [0.3, 0.2]},
        ),
        (  # never stressed: ZEC joins at its listing, the rebalance changes nothing
            {},
            1.0,
            CALM,
            {0: [0.6, 0.0], 3: [0.6, 0.4]},
        ),
        (  # capped, a rebalance's target (0.6, 0.4) differs from the held (0.3, 0.2): again
            {},
            0.5,
            CALM,
            {0: [0.5, 0.0], 3: [0.3, 0.2], 6: [0.3, 0.2]},
        ),
    ],
)
@pytest.mark.parametrize("unit", ["us", "s", "ns"])  # days counted in the calendar's unit
def test_a_tiny_case_by_hand(tiny, params, cap, stress, expected, unit):
    panel, frame = tiny
    index = panel.index.as_unit(unit)
    panel = dataclasses.replace(
        panel,
        prices=panel.prices.set_axis(index),
        traded=panel.traded.set_axis(index),
        macro=panel.macro.set_axis(index),
        cash_rate=panel.cash_rate.set_axis(index),
        events=panel.events.assign(bar=pd.DatetimeIndex(panel.events["bar"]).as_unit(unit)),
    )
    assert panel.index.unit == unit
    frame = frame.set_axis(index).assign(stress=np.array(stress, dtype=float))
    strategy = HayesPivot(HayesPivotParams(btc_weight=0.6, zec_weight=0.4, **params))
    walked = build_schedule(strategy, panel, cap, frame).targets
    batch = HayesPivot.decide_many([strategy], panel, GivenFrames([strategy], [frame]), cap)
    assert batch is not None
    bars, weights = list(expected), np.array(list(expected.values()))
    assert panel.index.get_indexer(walked.index).tolist() == bars
    assert np.array_equal(walked.to_numpy(), weights)
    assert batch.bar.tolist() == bars and np.array_equal(batch.weights, weights)

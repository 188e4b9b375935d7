"""hayes-pivot for many sets at once: `decide_many` equals the event walk bit for bit (the
rules of issue 16), shared measures give the same signals as a plain `signals(panel)`, and
a tiny case checked by hand."""

from __future__ import annotations

import dataclasses
import random
import warnings
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel

from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.signals import MissingInputWarning
from engine.core.strategy import Decline
from engine.runs.backtest import prepare
from engine.runs.config import RunConfig, load_run_config
from engine.sweep.shared_signals import SignalMemo
from engine.testing import assert_batch_equals_walk
from strategies.hayes_pivot import BROAD_PIVOT_KINDS, HayesPivot, HayesPivotParams
from strategies.hayes_pivot_batch import RECENT_FRAMES, walked_bars

REPO = Path(__file__).resolve().parents[1]
BASKETS = [(1.0, 0.0, 0.0), (0.7, 0.15, 0.15), (0.5, 0.5, 0.0)]


def random_params(rng: random.Random) -> HayesPivotParams:
    btc, zec, hype = rng.choice(BASKETS)
    kinds = [k for k in BROAD_PIVOT_KINDS if rng.random() < 0.5]
    return HayesPivotParams(
        btc_weight=btc,
        zec_weight=zec,
        hype_weight=hype,
        confirmations=rng.randint(0, 4),
        btc_divergence_pct=rng.choice([10, 20, 30]),
        kre_drawdown_pct=rng.uniform(5, 35),
        hy_widening_pts=rng.uniform(0.25, 2.5),
        liquidity_turn_pct=rng.uniform(0.5, 6),
        hold_after_pivot_days=rng.choice([0, 0, 30, 90]),
        rearm_days=rng.choice([0, 30, 60]),
        max_wait_days=rng.choice([None, None, 30, 120]),
        data_pivots=rng.random() < 0.5,
        pivot_kinds=tuple(kinds),
        gold_symbol=rng.choice(["GLD", "GLD", "KRE"]),
    )


def btc_only(p: HayesPivotParams, **update) -> HayesPivotParams:
    return p.model_copy(update={"btc_weight": 1.0, "zec_weight": 0.0, "hype_weight": 0.0, **update})


def real_config(shared_data: Path, name: str, **update) -> RunConfig:
    base = load_run_config(REPO / "configs" / name)
    data = base.data.model_copy(update={"source": "directory", "path": shared_data.resolve()})
    config = base.model_copy(update={"data": data, **update})
    return RunConfig.model_validate(config.model_dump())


@pytest.fixture(scope="module")
def synthetic_panels() -> dict[str, Panel]:
    return {
        name: prepare(load_run_config(REPO / "configs" / f"{name}.yaml"))[1]
        for name in ("hayes-pivot", "hayes-pivot-alts")
    }


class GivenFrames:
    """A signal source that hands out given frames (no shared measures)."""

    def __init__(self, strategies, frames) -> None:
        self.by_set = {id(s): f for s, f in zip(strategies, frames, strict=True)}

    def signals(self, strategy):
        return self.by_set[id(strategy)]

    def measures(self, strategy):
        return None


EVERY = {"start", "fed", "signal:alarm:on", "signal:pivot:on", "rebalance"}  # decided at


def exercised(panel: Panel, params: list[HayesPivotParams], cap: float) -> set:
    """decide_many (and decide_all) against the walk, set by set, per universe, bit for bit
    (`engine.testing.assert_batch_equals_walk`, the harness every batch path is held to);
    returns the kinds of event the walk decided at (what the sets exercised)."""
    groups: dict[tuple[str, ...], list[HayesPivot]] = {}
    for p in params:
        strategy = HayesPivot(p)
        groups.setdefault(strategy.universe(), []).append(strategy)
    memo, decided_at = SignalMemo(panel), set()
    for group in groups.values():
        walked = assert_batch_equals_walk(
            group, panel, leverage_cap=cap, signals=memo, require_batch=True
        )
        for schedule in walked:
            log = schedule.log[schedule.log["decided"]]
            decided_at |= {
                kind.split(":")[0] if kind[:4] == "fed:" else kind for kind in log["kind"]
            }
            if schedule.capped:
                decided_at.add("capped")
    return decided_at


def test_decide_many_equals_the_walk_on_the_synthetic_panels(synthetic_panels):
    rng = random.Random(16)
    panel = synthetic_panels["hayes-pivot-alts"]
    params = [random_params(rng) for _ in range(80)]
    assert exercised(panel, params, 1.0) >= {*EVERY, "listing"}
    assert "capped" in exercised(panel, params[:30], 0.55)
    more = [btc_only(random_params(rng), confirmations=0) for _ in range(30)]
    assert exercised(synthetic_panels["hayes-pivot"], more, 1.0) >= EVERY


@pytest.mark.realdata
def test_decide_many_equals_the_walk_on_real_history(shared_data):
    rng = random.Random(17)
    _, panel = prepare(real_config(shared_data, "hayes-pivot-alts.yaml"))
    params = [random_params(rng) for _ in range(60)]
    assert exercised(panel, params, 1.0) >= {*EVERY, "listing"}
    _, panel = prepare(real_config(shared_data, "hayes-pivot.yaml"))
    params = [btc_only(random_params(rng)) for _ in range(40)]
    assert exercised(panel, params, 0.8) >= {*EVERY, "capped"}


def test_decide_many_declines_with_a_reason_where_it_does_not_cover(synthetic_panels):
    panel = synthetic_panels["hayes-pivot"]

    class Other(HayesPivot):
        pass

    memo = SignalMemo(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        declined = HayesPivot.decide_many([Other()], panel, memo, 1.0)
        assert declined == Decline("a set is not of class HayesPivot (a subclass may change rules)")
        mixed = [HayesPivot(), HayesPivot(HayesPivotParams(btc_weight=0.5, zec_weight=0.5))]
        declined = HayesPivot.decide_many(mixed, panel, memo, 1.0)
        assert declined == Decline("the sets trade several universes")
        frame = HayesPivot().signals(panel).drop(columns="pivot")
        strategy = HayesPivot()
        given = GivenFrames([strategy], [frame])
        declined = HayesPivot.decide_many([strategy], panel, given, 1.0)
        assert declined == Decline("a signal frame has no single 'pivot' column")


def check_signals(panel: Panel, sets: int, seed: int) -> None:
    """Frames from the memo's shared measures equal plain `signals(panel)`, bit for bit."""
    rng = random.Random(seed)
    memo = SignalMemo(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        for _ in range(sets):
            strategy = HayesPivot(random_params(rng))
            shared, plain = memo.signals(strategy), strategy.signals(panel)
            pd.testing.assert_frame_equal(shared, plain, check_exact=True)


def test_signals_with_shared_measures_equal_plain_signals_bit_for_bit(synthetic_panels):
    check_signals(synthetic_panels["hayes-pivot-alts"], 30, seed=5)


@pytest.mark.realdata
def test_signals_with_shared_measures_equal_plain_signals_on_real_history(shared_data):
    _, panel = prepare(real_config(shared_data, "hayes-pivot-alts.yaml"))
    check_signals(panel, 15, seed=6)


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
    assert {"gold_symbol", "nasdaq_symbol", "confirmations"} <= set(names)
    assert "max_wait_days" not in names and memo.computed == 2


def test_plain_signals_warn_about_missing_inputs():
    """A warning with no input data in the window warns (it counts as off, never filled)."""
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    prices = {s: [100.0 + i for i in range(60)] for s in ("BTC-USD", "QQQ", "GLD", "IGV")}
    prices |= {s: [50.0] * 60 for s in ("XLP", "XLY", "AXP", "KRE")}
    panel = make_panel(prices, days)
    with pytest.warns(MissingInputWarning):
        HayesPivot().signals(panel)


# -- a tiny case checked by hand ---------------------------------------------------------

DAYS = pd.date_range("2024-01-26", periods=16, freq="D")  # bar 6 is Feb 1: the rebalance
ALARM = [0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 1, 1]  # on at 2, 10 (a flicker) and 14


@pytest.fixture
def tiny() -> tuple[Panel, pd.DataFrame]:
    panel = make_panel(
        {
            "BTC-USD": [100.0 + i for i in range(16)],
            "ZEC-USD": pd.Series(50.0, index=DAYS[3:]),  # lists at bar 3
        },
        DAYS,
    )
    events = pd.DataFrame(
        {
            "bar": [DAYS[4], DAYS[5], DAYS[7]],
            "date": [DAYS[4], DAYS[5], DAYS[7]],
            "kind": ["first_cut", "qt_end", "emergency_facility"],
            "description": ["an insurance cut", "QT ends", "a Sunday facility"],
        }
    )
    frame = pd.DataFrame({"alarm": ALARM, "pivot": [0.0] * 16}, index=panel.index, dtype=float)
    return dataclasses.replace(panel, events=events), frame


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (  # alarm at 2 -> cash; the first cut (4) and QT's end (5) are no pivot; the
            # facility (7) buys; the flicker at 10 is the crash's alarm; 14 (off 3 days) is
            # fresh with rearm_days 3 -> cash again
            {"rearm_days": 3},
            {0: [0.6, 0.0], 2: [0.0, 0.0], 7: [0.6, 0.4], 14: [0.0, 0.0]},
        ),
        (  # rearm_days 5: the alarm at 14 came after 3 days off, still the crash's alarm
            {"rearm_days": 5},
            {0: [0.6, 0.0], 2: [0.0, 0.0], 7: [0.6, 0.4]},
        ),
        (  # rearm_days 0: the flicker at 10 is a fresh alarm
            {"rearm_days": 0},
            {0: [0.6, 0.0], 2: [0.0, 0.0], 7: [0.6, 0.4], 10: [0.0, 0.0]},
        ),
        (  # the broad variant buys the insurance cut at 4
            {"pivot_kinds": BROAD_PIVOT_KINDS, "rearm_days": 3},
            {0: [0.6, 0.0], 2: [0.0, 0.0], 4: [0.6, 0.4], 14: [0.0, 0.0]},
        ),
    ],
)
def test_a_tiny_case_by_hand(tiny, params, expected):
    panel, frame = tiny
    strategy = HayesPivot(HayesPivotParams(btc_weight=0.6, zec_weight=0.4, **params))
    given = GivenFrames([strategy], [frame])
    (walked,) = assert_batch_equals_walk(
        [strategy], panel, leverage_cap=1.0, signals=given, require_batch=True
    )
    bars, weights = list(expected), np.array(list(expected.values()))
    assert panel.index.get_indexer(walked.targets.index).tolist() == bars
    assert np.array_equal(walked.targets.to_numpy(), weights)


# -- the kernel walks only the bars where something can happen -------------------------

ODD = [0.0, 1.0, 0.5, np.nan, 2.0, -1.0]  # the walk's flag is `value != 0 and not NaN`


def flag_columns(bars: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Alarm or pivot columns from sparse to dense: never flips (off, on from the first bar,
    NaN, 0.5), flips every bar (either phase), rare runs and a new odd value every bar."""
    every = np.arange(bars) % 2
    runs = np.repeat(rng.choice(ODD, size=bars // 40 + 1), 40)[:bars]
    return {
        "off": np.zeros(bars),
        "on": np.ones(bars),
        "nan": np.full(bars, np.nan),
        "half": np.full(bars, 0.5),
        "every bar, on first": 1.0 - every,
        "every bar, off first": every.astype(float),
        "rare runs": runs,
        "odd every bar": rng.choice(ODD, size=bars),
    }


class FreshFrames(GivenFrames):
    """Hands out a new copy of the set's frame on every call (a memo that dropped it and
    computed it again): a frame that dies frees its id for the next one. Counts the frames
    it handed out that are still alive at each call."""

    def __init__(self, strategies, frames) -> None:
        super().__init__(strategies, frames)
        self.handed: list[weakref.ref] = []
        self.most_alive = 0

    def signals(self, strategy):
        self.most_alive = max(self.most_alive, sum(r() is not None for r in self.handed))
        frame = super().signals(strategy).copy()
        self.handed.append(weakref.ref(frame))
        return frame


def sparse_and_dense_sets(panel: Panel) -> tuple[list[HayesPivot], list[pd.DataFrame]]:
    """Two rounds of sets over 80 frames (more than the batch path keeps at once) whose
    flags flip never, every bar or rarely, with NaN and values other than 0/1."""
    rng = np.random.default_rng(22)
    columns = flag_columns(len(panel.index), rng)
    pairs = [(columns[a], columns[p]) for a in columns for p in columns]
    pairs += [(rng.choice(ODD, size=len(panel.index)), columns["off"]) for _ in range(16)]
    frames = [pd.DataFrame({"alarm": a, "pivot": p}, index=panel.index) for a, p in pairs]
    pyrng = random.Random(22)
    strategies = []
    for _ in range(2):
        for _ in frames:
            p = random_params(pyrng)
            basket = {"btc_weight": 0.7, "zec_weight": 0.15, "hype_weight": 0.15}
            strategies.append(HayesPivot(p.model_copy(update=basket)))
    return strategies, frames + frames


@pytest.mark.parametrize("source", [GivenFrames, FreshFrames])
def test_walking_only_scheduled_and_flip_bars_equals_the_walk(synthetic_panels, source):
    """decide_many walks a set's frame only on scheduled bars and where its flags change:
    frames whose flags flip never, every bar or rarely, with NaN and values other than 0/1,
    seen again after many others or handed out anew each time, decide as the walk does."""
    panel = synthetic_panels["hayes-pivot-alts"]
    strategies, frames = sparse_and_dense_sets(panel)
    given = source(strategies, frames)
    walked = assert_batch_equals_walk(
        strategies, panel, leverage_cap=1.0, signals=given, require_batch=True
    )
    decided = set()
    for schedule in walked:
        log = schedule.log[schedule.log["decided"]]
        decided |= {kind.split(":")[0] if kind[:4] == "fed:" else kind for kind in log["kind"]}
    assert decided >= {*EVERY, "listing"}


def test_decide_many_does_not_hold_every_frame_of_a_chunk(synthetic_panels):
    """A 2,000-set chunk held each of its ~1,100 frames (1.4 MB each) to its end: the batch
    path keeps the recent frames only."""
    panel = synthetic_panels["hayes-pivot-alts"]
    strategies, frames = sparse_and_dense_sets(panel)
    fresh = FreshFrames(strategies, frames)
    assert isinstance(HayesPivot.decide_many(strategies, panel, fresh, 1.0), Decisions)
    assert len(strategies) == 160 and fresh.most_alive <= RECENT_FRAMES


def test_walked_bars_are_the_scheduled_bars_and_the_flag_changes():
    scheduled = np.array([True, False, False, True, False, False])
    alarm = np.array(
        [
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],  # never on
            [1.0, 1.0, 0.5, 2.0, -1.0, 1.0],  # on throughout: no change
            [np.nan, 0.0, 1.0, np.nan, 0.5, 0.5],  # NaN counts as off
            [0.0, 1.0, 0.0, 1.0, 0.0, 1.0],  # every bar
        ]
    )
    pivot = np.zeros_like(alarm)
    pivot[0, 4] = 0.5  # the pivot's flag turns on at 4 and off at 5
    per_frame = [walked_bars(scheduled, a, p).tolist() for a, p in zip(alarm, pivot, strict=True)]
    assert per_frame == [[0, 3, 4, 5], [0, 3], [0, 2, 3, 4], [0, 1, 2, 3, 4, 5]]

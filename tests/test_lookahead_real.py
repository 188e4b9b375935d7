"""Look-ahead on the REAL snapshot: files cut after day D change nothing on or before D.

The synthetic property (tests/test_lookahead.py) missed issue 14: the TGA's units were
guessed from the whole WTREGEN file, which only bites on real history (the TGA was ~5,000
million before 2008). So here the source files themselves end at D (the panel is built from
them, not cut afterwards with `Panel.truncated`), for every run config in configs/ (which
cover every registered strategy) and for the signal functions on real series. Cut dates
include each asset's first weeks (GLD 2004-11-18, BTC-USD 2014-09-17, HYPE-USD 2024-11-29),
the weeks around 2014-12-03 (where the old whole-file median of WTREGEN crossed its
millions/billions threshold) and around WTREGEN's end (2025-11-19, stale from 2025-12-13);
hypothesis adds a few more (derandomized).
"""

from __future__ import annotations

import warnings
from functools import cache
from pathlib import Path

import pandas as pd
import pytest
from conftest import REPO, SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lookahead import TruncatedSource

from engine.core import signals as sig
from engine.core.panel import Panel
from engine.core.schedule import build_schedule
from engine.core.simulate import simulate
from engine.data.panel import PanelRequest, build_panel
from engine.data.sources import DirectorySource
from engine.errors import DataError
from engine.runs.backtest import load_panel, make_strategy, window_start
from engine.runs.config import RunConfig, load_run_config
from strategies import REGISTRY

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

# every run config but two of the four buy-and-hold ones (same code as -btc and -gld, whose
# listings are among the cuts)
SKIPPED = {"buy-and-hold-qqq", "buy-and-hold-spy"}
CONFIGS = sorted(p.stem for p in (REPO / "configs").glob("*.yaml") if p.stem not in SKIPPED)
CUTS = [
    "2004-12-03",  # GLD's third week
    "2005-01-14",
    "2014-09-24",  # BTC-USD's first week
    "2014-10-31",  # the example: the index was -114,079 instead of 4,226
    "2014-11-26",  # WTREGEN's old median threshold crossed on 2014-12-03
    "2014-12-05",
    "2014-12-19",
    "2024-12-06",  # HYPE-USD's first week
    "2025-01-10",
    "2025-11-21",  # WTREGEN's last release
    "2025-12-12",  # its last fresh day (stale from 2025-12-13)
    "2025-12-19",
]


class CachedSource(DirectorySource):
    """The snapshot, each file parsed once per test session (the cuts slice copies)."""

    @cache  # noqa: B019 - one instance per session
    def prices(self, symbol: str) -> pd.DataFrame:
        return super().prices(symbol)

    @cache  # noqa: B019
    def macro(self, series_id: str) -> pd.Series | None:
        return super().macro(series_id)


@pytest.fixture(scope="module")
def real() -> CachedSource:
    if not (SHARED_DATA / "prices").is_dir():
        pytest.skip(f"real-data snapshot not found at {SHARED_DATA} (set PLAYBOOK_SHARED_DATA)")
    return CachedSource(SHARED_DATA)


@cache
def _config(name: str) -> RunConfig:
    config = load_run_config(REPO / "configs" / f"{name}.yaml")
    data = config.data.model_copy(update={"source": "directory", "path": Path(SHARED_DATA)})
    return config.model_copy(update={"data": data})


def _run(config: RunConfig, source) -> tuple[Panel, object, pd.DataFrame | None]:
    """Panel, schedule and end-of-bar weights (from the full run's window start)."""
    strategy = make_strategy(config)
    panel = load_panel(config, strategy, source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sig.MissingInputWarning)
        schedule = build_schedule(strategy, panel, config.leverage_cap)
    return panel, schedule, None


_FULL: dict[str, tuple] = {}


def _full(name: str, real: CachedSource) -> tuple:
    if name not in _FULL:
        config = _config(name)
        panel, schedule, _ = _run(config, real)
        start = window_start(config, panel)
        sim = simulate(panel, [schedule.targets], config.costs, start=start, names=[name])
        _FULL[name] = (panel, schedule, start, sim.weights[0])
    return _FULL[name]


def _assert_cut_changes_nothing(name: str, real: CachedSource, cut: pd.Timestamp) -> None:
    config = _config(name)
    full_panel, full, start, full_weights = _full(name, real)
    try:
        panel, seen, _ = _run(config, TruncatedSource(real, cut))
    except DataError as exc:  # the files at D cannot make a run: only before any traded data
        firsts = [full_panel.first_bar(s) for s in full_panel.tradable_symbols]
        assert all(f is None or f > cut for f in firsts), f"{name} cut {cut.date()}: {exc}"
        return
    last = panel.index[-1]
    assert last <= cut
    where = f"{name}, files cut after {cut.date()}"
    pd.testing.assert_frame_equal(panel.macro, full_panel.macro.loc[:last], obj=where)
    pd.testing.assert_frame_equal(
        panel.prices, full_panel.prices.loc[:last], check_freq=False, obj=where
    )
    pd.testing.assert_frame_equal(seen.signals, full.signals.loc[:last], obj=f"{where}: signals")
    pd.testing.assert_frame_equal(
        seen.targets, full.targets.loc[:last], check_freq=False, obj=f"{where}: decisions"
    )
    log = full.log[full.log["time"] <= last].reset_index(drop=True)
    pd.testing.assert_frame_equal(seen.log.reset_index(drop=True), log, obj=f"{where}: events")
    # weights need a price for each traded asset in the window: a file cut before a listing
    # leaves a column with no price at all, which values the book at NaN (as vectorbt does)
    priced = all(panel.first_bar(s) is not None for s in panel.tradable_symbols)
    if priced and start < last and (panel.index >= start).sum() >= 2:
        sim = simulate(panel, [seen.targets], config.costs, start=start, names=[name])
        pd.testing.assert_frame_equal(
            sim.weights[0], full_weights.loc[:last], check_freq=False, obj=f"{where}: weights"
        )


def test_configs_cover_every_registered_strategy():
    assert {load_run_config(REPO / "configs" / f"{n}.yaml").strategy for n in CONFIGS} >= set(
        REGISTRY
    )


@pytest.mark.parametrize("name", CONFIGS)
def test_real_files_cut_after_day_d_change_nothing_on_or_before_d(name, real):
    for cut in map(pd.Timestamp, CUTS):
        _assert_cut_changes_nothing(name, real, cut)


@settings(
    max_examples=4,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cut=st.dates(
        min_value=pd.Timestamp("2004-11-25").date(), max_value=pd.Timestamp("2026-06-30").date()
    )
)
def test_real_files_cut_on_any_day_change_nothing_on_or_before_it(cut, real):
    for name in ("hayes-pivot-alts", "liquidity-barometer", "hard-assets-vs-duration"):
        _assert_cut_changes_nothing(name, real, pd.Timestamp(cut))


SIGNAL_MACRO = ("WALCL", "WTREGEN", "RRPONTSYD", "DFF", "BAMLH0A0HYM2")


def _signal_frame(source) -> pd.DataFrame:
    """Every public signal function of engine.core.signals on real series, on one calendar."""
    request = PanelRequest(
        traded=("BTC-USD",), inputs=("QQQ", "GLD"), macro=SIGNAL_MACRO, cash_series=()
    )
    panel = build_panel(source, request)
    px, macro = panel.prices, panel.macro
    liquidity = sig.liquidity_index(macro["WALCL"], macro["WTREGEN"], macro["RRPONTSYD"])
    above = sig.above_average(px["GLD"], 200)
    flags = pd.DataFrame({"gold_up": above, "hy": (macro["BAMLH0A0HYM2"] > 5).astype(float)})
    score = sig.stress_score(flags, min_inputs=1)
    return pd.DataFrame(
        {
            "liquidity": liquidity,
            "liquidity_change": sig.change(liquidity, 91),
            "hy_difference": sig.difference(macro["BAMLH0A0HYM2"], 60),
            "lagged": sig.lagged(px["QQQ"], 30),
            "drawdown": sig.drawdown_from_high(px["QQQ"], 90),
            "drawdown_all": sig.drawdown_from_high(px["BTC-USD"]),
            "above_average": above,
            "correlation": sig.rolling_correlation(px["BTC-USD"], px["QQQ"], panel.traded, 60),
            "first_cut": sig.first_cut_after_hikes(macro["DFF"]),
            **{c: score[c] for c in score.columns},
        },
        index=panel.index,
    )


def test_every_signal_function_on_real_series_is_unchanged_by_cutting_the_files(real):
    full = _signal_frame(real)
    for cut in map(pd.Timestamp, [*CUTS[2:], "2020-03-20", "2023-03-15"]):
        seen = _signal_frame(TruncatedSource(real, cut))
        pd.testing.assert_frame_equal(
            seen, full.loc[: seen.index[-1]], check_freq=False, obj=f"cut {cut.date()}"
        )

"""The seed playbooks on real history: each behaves as its thesis says in its regimes.

Numbers come from ../shared/data; the tests skip with a reason where it is absent. Decision
dates are pinned on purpose (golden results): a change that moves them must say so.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest
from test_lookahead import TruncatedSource

from engine.config import load_run_config
from engine.run import RunResult, load_panel, run_backtest
from engine.schedule import build_schedule
from engine.signals import MissingInputWarning
from strategies import REGISTRY

PLAYBOOKS = ("hayes-pivot", "liquidity-barometer", "hard-assets-vs-duration")
_cache: dict[str, RunResult] = {}


def real_run(name: str, shared_data, **updates) -> RunResult:
    key = f"{name}{sorted(updates.items())}"
    if key not in _cache:
        config = load_run_config(f"configs/{name}.yaml")
        data = config.data.model_copy(update={"source": "directory", "path": shared_data})
        config = config.model_copy(update={"data": data, **updates})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MissingInputWarning)
            _cache[key] = run_backtest(config)
    return _cache[key]


def held(result: RunResult, symbol: str) -> pd.Series:
    return result.simulation.weights[0][symbol]


def sessions_after(result: RunResult, day: str, n: int) -> pd.Timestamp:
    index = result.returns.index
    return index[index.searchsorted(pd.Timestamp(day)) + n]


def test_hayes_is_in_cash_through_the_2022_tightening(shared_data):
    result = real_run("hayes-pivot", shared_data)
    btc = held(result, "BTC-USD").loc["2022-01-03":"2022-10-12"]  # regimes.csv tightening-2022
    assert (btc < 0.01).mean() > 0.95
    cash = result.simulation.weights[0]["CASH"].loc["2022-01-03":"2022-10-12"]
    assert cash.min() > 0.99  # de-levered, not short: the money sits in T-bills


def test_hayes_holds_btc_within_a_few_sessions_after_the_2020_and_2023_pivots(shared_data):
    result = real_run("hayes-pivot", shared_data)
    for pivot in ("2020-03-23", "2023-03-12"):
        assert held(result, "BTC-USD").loc[sessions_after(result, pivot, 3)] > 0.95, pivot


def test_hayes_decisions_follow_the_thesis_on_pinned_dates(shared_data):
    log = real_run("hayes-pivot", shared_data).schedule.log
    decided = log[log["decided"] & (log["time"] >= "2014-09-17")]
    moves = [(str(t.date()), k) for t, k in zip(decided["time"], decided["kind"], strict=True)]
    assert ("2018-11-21", "signal:stress:on") in moves  # Q4 2018: out
    assert ("2019-07-31", "fed:first_cut") in moves  # back in at the first cut
    assert ("2021-12-28", "signal:stress:on") in moves  # out before the 2022 hikes
    assert ("2023-01-23", "signal:pivot:on") in moves  # liquidity turns, stress cleared
    assert ("2025-12-01", "fed:balance_sheet_pivot") in moves  # QT ends


def test_hayes_never_shorts_and_never_levers(shared_data):
    weights = real_run("hayes-pivot", shared_data).simulation.weights[0]
    assert (weights >= -1e-12).all().all()
    assert weights.drop(columns="CASH").sum(axis=1).max() <= 1.0 + 1e-9


def test_hayes_alts_join_the_basket_only_once_listed(shared_data):
    result = real_run("hayes-pivot-alts", shared_data)
    weights = result.simulation.weights[0]
    assert weights.loc[:"2024-11-28", "HYPE-USD"].abs().max() == 0.0
    assert result.returns.index[-1] == pd.Timestamp("2025-11-19")  # where ZEC/HYPE files end
    assert weights.loc["2025-01-01":, "HYPE-USD"].max() > 0.05


def test_liquidity_barometer_is_out_in_2022_and_sized_up_in_the_qe_boom(shared_data):
    btc = held(real_run("liquidity-barometer", shared_data), "BTC-USD")
    assert btc.loc["2022-01-03":"2022-10-12"].mean() < 0.05
    assert btc.loc["2020-06-01":"2021-06-30"].mean() > 0.6
    assert btc.min() >= -1e-12 and btc.max() <= 1.0 + 0.5  # drift above target is allowed


def test_hard_assets_is_short_tlt_throughout_2022_and_pays_borrow(shared_data):
    result = real_run("hard-assets-vs-duration", shared_data)
    short = result.simulation.weights[0]["TLT~short"].loc["2022-01-01":"2022-12-31"]
    assert (short < -0.2).all()
    free = real_run(
        "hard-assets-vs-duration",
        shared_data,
        costs=result.config.costs.model_copy(update={"borrow_bps": 0.0}),
    )
    years = (result.returns.index[-1] - result.returns.index[0]).days / 365.25
    drag = (free.stats["cagr"] - result.stats["cagr"]) * 1e4
    assert 5 < drag < 30, f"50 bp/yr on a ~30% short over {years:.0f}y should cost ~15 bp/yr"


def test_hard_assets_puts_btc_weight_in_gold_before_btc_lists(shared_data):
    result = real_run("hard-assets-vs-duration", shared_data)
    assert result.returns.index[0] == pd.Timestamp("2004-11-18")
    fills = result.simulation.fills[0]
    before = fills.loc[:"2014-09-16"]
    assert before.index[0] == pd.Timestamp("2004-11-18") and before["GLD"].iloc[0] == 0.0
    # GLD lists on the window's first day, so it can only be bought from the next bar
    later = before.iloc[1:]
    assert (later["BTC-USD"] == 0).all()
    assert later["GLD"].to_numpy() == pytest.approx([0.7] * len(later))
    after = fills.loc["2014-10-01":].iloc[0]
    assert after["BTC-USD"] == pytest.approx(0.3) and after["GLD"] == pytest.approx(0.4)


@pytest.mark.slow
@pytest.mark.parametrize("name", PLAYBOOKS)
def test_no_look_ahead_on_real_history_around_crises(name, shared_data):
    from engine.data.sources import DirectorySource

    config = real_run(name, shared_data).config
    source = DirectorySource(shared_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        full = build_schedule(REGISTRY[name](), load_panel(config, REGISTRY[name](), source))
        for cut in ("2020-03-13", "2022-06-15", "2023-03-13"):
            strategy = REGISTRY[name]()
            panel = load_panel(config, strategy, TruncatedSource(source, pd.Timestamp(cut)))
            seen = build_schedule(strategy, panel)
            pd.testing.assert_frame_equal(seen.targets, full.targets.loc[:cut], check_freq=False)

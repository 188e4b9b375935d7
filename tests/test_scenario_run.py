"""Playbooks on many scenario paths: the scenario exercises the thesis; reports are complete."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.markets import generate_paths, load_scenario
from engine.runs.config import RunConfig
from engine.runs.paths import percentiles, run_paths


@pytest.fixture(scope="module")
def crunch_outcome():
    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    markets = generate_paths(load_scenario("ai-credit-crunch"), 40, seed=11)
    return run_paths(config, markets, "ai-credit-crunch", 11, chunk_paths=20)


def test_hayes_delevers_in_the_crunch_and_reenters_after_the_pivot_on_most_paths(crunch_outcome):
    per_path = crunch_outcome.per_path
    delevered = per_path["exposure.ai-credit-crunch"] < 0.3
    # back in at the Sunday facility (the pivot); a fresh alarm in the rally that follows
    # exits again (issue 16: a pivot buy does not silence a fresh alarm), so exposure over
    # the whole liquidity-rally phase is not pinned here
    reentered = per_path["exposure.fed-pivot"] > 0.7
    assert delevered.mean() >= 0.8, per_path["exposure.ai-credit-crunch"].describe()
    assert reentered.mean() >= 0.8, per_path["exposure.fed-pivot"].describe()
    assert (delevered & reentered).mean() >= 0.75


def test_paths_are_columns_of_one_run_and_the_median_path_is_the_median(crunch_outcome):
    wealth = crunch_outcome.wealth
    assert wealth.shape[1] == 40 and wealth.iloc[-1].nunique() == 40
    final = crunch_outcome.per_path["final_wealth"]
    np.testing.assert_allclose(final.to_numpy(), wealth.iloc[-1].to_numpy(), rtol=1e-12)
    median = crunch_outcome.median_path
    assert (final < final[median]).sum() == 19  # lower middle of 40
    fan = percentiles(wealth)
    assert (fan["p5"] <= fan["p50"]).all() and (fan["p50"] <= fan["p95"]).all()


def test_same_seed_same_outcome():
    config = RunConfig(strategy="60-40")
    scenario = load_scenario("soft-landing")
    first = run_paths(config, generate_paths(scenario, 3, seed=5), "soft-landing", 5)
    second = run_paths(config, generate_paths(scenario, 3, seed=5), "soft-landing", 5)
    assert first.per_path.equals(second.per_path)


@pytest.mark.slow
def test_scenario_command_writes_a_complete_report(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "scenario",
            "run",
            "hayes-pivot",
            "--scenario",
            "ai-credit-crunch",
            "--paths",
            "12",
            "--seed",
            "3",
            "--results-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    (folder,) = (tmp_path / "scenarios").iterdir()
    names = {p.name for p in folder.iterdir()}
    assert names == {
        "scenario.html",
        "tearsheet-median.html",
        "per_path.parquet",
        "wealth_percentiles.parquet",
        "summary.json",
        "config.yaml",
    }
    page = (folder / "scenario.html").read_text()
    for element in (
        'id="distribution"',
        'id="fan-chart"',
        'id="cagr-histogram"',
        'id="exposure"',
        "SYNTHETIC scenario ai-credit-crunch",
    ):
        assert element in page
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["paths"] == 12 and 0 <= summary["probability_beat_benchmark"] <= 1
    assert "SYNTHETIC" in (folder / "tearsheet-median.html").read_text()


def test_unknown_scenario_fails_in_one_line(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "scenario",
            "run",
            "hayes-pivot",
            "--scenario",
            "ai-credit-crunsh",
            "--results-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "ai-credit-crunch" in result.stderr
    assert not (tmp_path / "scenarios").exists()


@pytest.mark.slow
def test_bootstrap_paths_of_real_history(tmp_path, shared_data):
    result = CliRunner().invoke(
        cli,
        [
            "scenario",
            "run",
            "60-40",
            "--generator",
            "bootstrap",
            "--data-dir",
            str(shared_data),
            "--paths",
            "8",
            "--results-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "bootstrap-" in result.stdout


def scenario_summary(target: str, tmp_path, paths: int = 16) -> dict:
    """`playbook scenario run TARGET` on ai-credit-crunch: its summary.json."""
    out = tmp_path / target.replace("/", "_")
    result = CliRunner().invoke(
        cli,
        ["scenario", "run", target, "--paths", str(paths), "--results-dir", str(out)],
    )
    assert result.exit_code == 0, result.output
    (folder,) = (out / "scenarios").iterdir()
    return json.loads((folder / "summary.json").read_text())


@pytest.mark.slow
def test_broad_pivots_buy_the_crunchs_ordinary_easing_the_articles_rule_waits(tmp_path):
    """Issue 16 F2: the crunch holds a discount-rate cut, an insurance cut, QT ending and bill
    purchases before the crisis printing. The article's hayes-pivot waits in T-bills through
    them; the broad variant (configs/hayes-pivot-broad.yaml) buys them, so the two differ in
    exactly that phase, and both buy the Sunday facility."""
    default = scenario_summary("configs/hayes-pivot.yaml", tmp_path)["exposure_by_phase"]
    broad = scenario_summary("configs/hayes-pivot-broad.yaml", tmp_path)["exposure_by_phase"]
    phases = [
        "boom",
        "false-alarm",
        "boom-resumes",
        "fire-alarm",
        "ai-credit-crunch",
        "fed-pivot",
        "liquidity-rally",
        "calm-tail",
    ]
    assert list(default) == list(broad) == phases
    assert default["ai-credit-crunch"] < 0.1  # in T-bills: ordinary easing is not the pivot
    assert broad["ai-credit-crunch"] > 0.5  # bought the discount-rate / insurance cut
    assert broad["ai-credit-crunch"] - default["ai-credit-crunch"] > 0.5
    assert default["fed-pivot"] > 0.9 and broad["fed-pivot"] > 0.9
    # the false alarm fools the article's rule: out in the boom that resumes, no crisis
    assert default["boom-resumes"] < 0.2 < default["boom"]


def test_scenario_paths_through_the_batch_pipeline_equal_one_run_per_path():
    """Issue 18/22: paths go through the sweep's batch pipeline (batch decisions, one kernel
    call per chunk, metrics in one pass). Each path's wealth, exposure per phase and headline
    numbers equal `playbook run` on that path's market (`run_prepared`), and the headline
    numbers equal their textbook definitions recomputed here with pandas."""
    import dataclasses

    import pandas as pd

    from engine.core.metrics import CASH
    from engine.markets.source import MarketSource
    from engine.runs.backtest import load_panel, make_strategy, run_prepared, window_start

    config = RunConfig(strategy="hayes-pivot", benchmark="BTC-USD")
    markets = generate_paths(load_scenario("ai-credit-crunch"), 5, seed=11)
    outcome = run_paths(config, markets, "ai-credit-crunch", 11, chunk_paths=2)
    for i in range(5):
        strategy = make_strategy(config)
        panel = load_panel(config, strategy, MarketSource(markets[i], "ai-credit-crunch", 11, i))
        panel = dataclasses.replace(panel, window_start=window_start(config, panel))
        run = run_prepared(config, strategy, panel)
        returns = run.returns
        pd.testing.assert_series_equal(
            outcome.wealth[i], (1 + returns).cumprod().rename(i), check_exact=True
        )
        row = outcome.per_path.loc[i]
        stats = run.stats
        for key in ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown"):
            assert row[key] == pytest.approx(stats[key], rel=1e-12, abs=1e-15), key
        bench = run.stats["benchmark"]
        for key in ("final_wealth", "cagr", "max_drawdown"):
            assert row[f"benchmark_{key}"] == pytest.approx(bench[key], rel=1e-12), key
        exposure = run.simulation.weights[0].drop(columns=CASH).abs().sum(axis=1)
        for regime in outcome.regimes:
            inside = (exposure.index > pd.Timestamp(regime.start)) & (
                exposure.index <= pd.Timestamp(regime.end)
            )
            assert row[f"exposure.{regime.name}"] == float(exposure[inside].mean())
        # textbook definitions, on the path's own returns and cash
        cash = run.cash_returns
        wealth = (1 + returns).cumprod()
        years = ((returns.index[-1] - returns.index[0]).days + 1) / 365.25
        ppy = len(returns) / years
        excess = returns - cash
        assert row["final_wealth"] == pytest.approx(wealth.iloc[-1], rel=1e-12)
        assert row["cagr"] == pytest.approx(wealth.iloc[-1] ** (1 / years) - 1, rel=1e-12)
        assert row["max_drawdown"] == pytest.approx(
            (wealth / np.maximum(wealth.cummax(), 1.0) - 1).min(), rel=1e-12
        )
        assert row["sharpe"] == pytest.approx(
            excess.mean() / excess.std(ddof=1) * np.sqrt(ppy), rel=1e-10
        )
    assert outcome.periods_per_year == pytest.approx(ppy, rel=1e-12)
    median = outcome.median_path
    wealth = (1 + outcome.median_returns).cumprod().rename(median)
    pd.testing.assert_series_equal(wealth, outcome.wealth[median], check_exact=True)


def test_lazy_path_sequence_equals_generate_paths():
    """Issue 22: `playbook scenario run` reads its paths from a PathSequence (a chunk at a
    time, memory flat in the number of paths); every path equals generate_paths' path."""
    from engine.markets.generator import PathSequence

    scenario = load_scenario("ai-credit-crunch")
    symbols = ["BTC-USD", "QQQ", "BIL"]
    eager = generate_paths(scenario, 7, seed=4, symbols=symbols)
    lazy = PathSequence(scenario, 7, seed=4, symbols=symbols, chunk_paths=3)
    assert len(lazy) == 7
    for i in (6, 0, 1, 5, 3, 2, 4, -1):
        mine, theirs = lazy[i], eager[i]
        assert mine.description == theirs.description
        assert list(mine.prices) == list(theirs.prices) and list(mine.macro) == list(theirs.macro)
        for symbol, frame in theirs.prices.items():
            assert mine.prices[symbol].equals(frame), symbol
            assert frame[["open", "high", "low", "volume"]].isna().all().all()
            assert frame["close"].equals(frame["adj_close"]) and frame["close"].notna().all()
        for series_id, series in theirs.macro.items():
            assert mine.macro[series_id].equals(series), series_id
        assert mine.events.equals(theirs.events) and mine.regimes.equals(theirs.regimes)
    with pytest.raises(IndexError):
        lazy[7]


def test_path_panels_from_arrays_equal_build_panel():
    """Issue 22: the paths after the first get their panels from the first path's row maps
    (engine.runs.path_panels), not a build_panel each; every value equals build_panel's."""
    import dataclasses

    import pandas as pd

    from engine.markets.source import MarketSource
    from engine.runs.backtest import load_panel, make_strategy, window_start
    from engine.runs.path_panels import PathPanels

    for name, scenario in (("hayes-pivot", "ai-credit-crunch"), ("60-40", "stagflation")):
        config = RunConfig(strategy=name, benchmark="BTC-USD")
        strategy = make_strategy(config)
        markets = generate_paths(load_scenario(scenario), 4, seed=2)
        panels = []
        for i, market in enumerate(markets):
            panel = load_panel(config, strategy, MarketSource(market, scenario, 2, i))
            panels.append(dataclasses.replace(panel, window_start=window_start(config, panel)))
        cash = config.costs.cash_yield, config.costs.cash_rate_pct
        builder = PathPanels(panels[0], markets[0], *cash)
        for i in range(4):
            source = MarketSource(markets[i], scenario, 2, i).describe()
            mine = builder.panel(markets[i], source)
            assert mine is not None, i
            want = panels[i]
            pd.testing.assert_frame_equal(mine.prices, want.prices, check_exact=True)
            pd.testing.assert_frame_equal(mine.traded, want.traded, check_exact=True)
            pd.testing.assert_frame_equal(mine.macro, want.macro, check_exact=True)
            pd.testing.assert_series_equal(mine.cash_rate, want.cash_rate, check_exact=True)
            pd.testing.assert_frame_equal(mine.events, want.events, check_exact=True)
            assert mine.source == want.source and mine.window_start == want.window_start
            assert mine.regimes == want.regimes
            assert mine.tradable_symbols == want.tradable_symbols
            assert mine.calendar_kind == want.calendar_kind and mine.synthetic == want.synthetic
        # a path whose values have a gap is not covered: build_panel fills it instead
        gap = markets[1]
        frame = gap.prices["BTC-USD"].copy()
        frame.iloc[5, frame.columns.get_loc("adj_close")] = np.nan
        broken = dataclasses.replace(gap, prices={**gap.prices, "BTC-USD": frame})
        assert builder.panel(broken, {}) is None


def test_fan_percentiles_by_blocks_of_bars_equal_np_percentile_of_the_whole_frame():
    """The fan chart's bands are taken a block of bars at a time (a bounded working copy);
    each bar's percentiles are those of its own row, so the blocks change no number."""
    import pandas as pd

    from engine.runs import paths as paths_module

    rng = np.random.default_rng(22)
    bars = 3 * paths_module.PERCENTILE_BARS + 17  # blocks and a ragged last one
    frame = pd.DataFrame(np.cumprod(1.0 + rng.normal(0, 0.02, (bars, 301)), axis=0))
    qs = [5, 25, 50, 75, 95]
    whole = np.percentile(frame.to_numpy(), qs, axis=1).T  # one call over every bar
    got = percentiles(frame)
    assert list(got.columns) == ["p5", "p25", "p50", "p75", "p95"]
    np.testing.assert_array_equal(got.to_numpy(), whole)


def test_scenario_wealth_is_held_once_window_by_paths(crunch_outcome):
    """The curves are written into one window x paths array, which the frame wraps (no
    second copy of every path's curve); each column is the growth of 1 of that path."""
    import pandas as pd

    from engine.runs.paths import _frame

    curves = np.ones((5, 3))
    assert np.shares_memory(
        _frame(curves, pd.date_range("2030-01-01", periods=5), pd.Index(range(3))).to_numpy(),
        curves,
    )
    wealth = crunch_outcome.wealth
    assert wealth.shape == (len(crunch_outcome.median_returns), 40)
    median = crunch_outcome.median_path
    growth = np.cumprod(1.0 + crunch_outcome.median_returns.to_numpy())
    np.testing.assert_array_equal(wealth[median].to_numpy(), growth)

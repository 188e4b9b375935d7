"""Per-regime numbers: known answers, coverage marking, `--regime` windows."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli
from engine.core.regimes import Regime, embedded_regimes, find_regime, merge_regimes, regime_table
from engine.errors import ConfigError
from engine.runs.config import RunConfig


def test_regime_return_is_the_product_of_its_daily_returns():
    index = pd.date_range("2021-01-01", periods=10)
    returns = pd.Series(np.linspace(-0.02, 0.03, 10), index=index)
    regime = Regime(name="r", start=dt.date(2021, 1, 3), end=dt.date(2021, 1, 7))
    row = regime_table(returns, returns * 2, (regime,)).iloc[0]
    inside = returns.loc["2021-01-04":"2021-01-07"]  # after the start close, up to the end
    assert row["return"] == pytest.approx(np.prod(1 + inside) - 1, abs=1e-15)
    assert row["benchmark_return"] == pytest.approx(np.prod(1 + 2 * inside) - 1, abs=1e-15)
    assert row["coverage"] == "full" and row["bars"] == 4
    wealth = np.cumprod(1 + inside.to_numpy())
    assert row["max_drawdown"] == pytest.approx(
        min(0.0, (wealth / np.maximum.accumulate(np.maximum(wealth, 1.0)) - 1).min())
    )


def test_regimes_outside_the_run_are_marked_not_zero():
    index = pd.date_range("2021-01-01", periods=10)
    returns = pd.Series(0.01, index=index)
    outside = Regime(name="later", start=dt.date(2022, 1, 1), end=dt.date(2022, 2, 1))
    partial = Regime(name="half", start=dt.date(2020, 12, 1), end=dt.date(2021, 1, 5))
    table = regime_table(returns, None, (outside, partial)).set_index("regime")
    assert table.loc["later", "coverage"] == "none" and np.isnan(table.loc["later", "return"])
    assert table.loc["half", "coverage"] == "partial"
    assert table.loc["half", "return"] == pytest.approx(1.01**5 - 1)


def test_weekday_regime_of_a_mixed_run_not_annualized_as_365():
    """A regime before BTC's 7-day bars joined the calendar has ~252-261 bars a year."""
    index = pd.bdate_range("2012-01-02", "2013-12-31").append(
        pd.date_range("2014-01-01", "2015-12-31")
    )
    returns = pd.Series(np.random.default_rng(5).normal(0, 0.01, len(index)), index=index)
    early = Regime(name="early", start=dt.date(2012, 3, 1), end=dt.date(2013, 6, 28))
    late = Regime(name="late", start=dt.date(2014, 3, 1), end=dt.date(2015, 6, 30))
    table = regime_table(returns, None, (early, late)).set_index("regime")
    for name, first, last in (("early", "2012-03-02", "2013-06-28"), ("late", "2014-03-02", "")):
        inside = returns.loc[first : last or "2015-06-30"]
        years = ((inside.index[-1] - inside.index[0]).days + 1) / 365.25  # from the day before
        want = inside.std(ddof=1) * np.sqrt(len(inside) / years)
        assert table.loc[name, "volatility"] == pytest.approx(want, rel=1e-12), name
    assert table.loc["early", "volatility"] < table.loc["late", "volatility"] * 0.9


def test_config_regimes_extend_and_override_the_catalog():
    mine = Regime(name="gfc", start=dt.date(2008, 9, 1), end=dt.date(2008, 12, 31))
    config = RunConfig(
        strategy="60-40",
        regimes=[{"name": "my-window", "start": "2019-01-01", "end": "2019-06-30"}],
    )
    merged = merge_regimes(embedded_regimes(), (*config.regimes, mine))
    assert find_regime("gfc", merged).start == dt.date(2008, 9, 1)
    assert find_regime("my-window", merged).end == dt.date(2019, 6, 30)
    with pytest.raises(ConfigError, match="unknown regime 'gcf'"):
        find_regime("gcf", merged)


def test_spy_in_the_gfc_matches_the_dated_fact(shared_data, tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "buy-and-hold-spy",
            "--data-dir",
            str(shared_data),
            "--start",
            "2005-01-03",
            "--no-report",
            "--results-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    table = pd.read_csv(folder / "regimes.csv").set_index("regime")
    # regimes.csv: S&P 500 1565.15 -> 676.53 (-56.8%); SPY with dividends fell about 55%
    assert table.loc["gfc", "benchmark_return"] == pytest.approx(-0.552, abs=0.005)
    assert table.loc["dotcom-bust", "coverage"] == "none"
    assert "gfc" in result.stdout and "not covered" in result.stdout


def test_run_restricted_to_a_regime(tmp_path):
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "hayes-pivot",
            "--regime",
            "ai-credit-crunch",
            "--no-report",
            "--results-dir",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    (folder,) = tmp_path.iterdir()
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["start"] == "2031-12-01" and stats["end"] == "2032-06-26"
    # de-levered: T-bills through the crunch (its ordinary easing is not the pivot)
    assert stats["time_in_market"] < 0.05 and stats["max_drawdown"] > -0.02


def test_unknown_regime_and_conflicting_flags_fail_clearly(tmp_path):
    result = CliRunner().invoke(cli, ["run", "60-40", "--regime", "gfc", "--no-report"])
    assert result.exit_code == 2
    assert "unknown regime 'gfc'" in result.stderr and "ai-credit-crunch" in result.stderr
    both = CliRunner().invoke(cli, ["run", "60-40", "--regime", "boom", "--start", "2030-01-01"])
    assert both.exit_code == 2 and "either --regime or --start/--end" in both.output


def test_regimes_command_lists_the_catalog():
    result = CliRunner().invoke(cli, ["regimes"])
    assert result.exit_code == 0 and "gfc                2007-10-09 to 2009-03-09" in result.stdout

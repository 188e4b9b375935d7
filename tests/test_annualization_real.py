"""Annualization on a mixed calendar, on the real snapshot (issue 14).

hard-assets-vs-duration holds GLD and shorts TLT from 2004 (weekday bars) and adds BTC from
2014 (7-day bars). Its figures were annualized with 365 periods a year throughout; here they
are recomputed from the run folder's returns.parquet with textbook definitions written in the
test: CAGR over calendar time, volatility and Sharpe scaled by the window's bars per calendar
year, and a pre-2014 regime's volatility by that regime's own bars per year.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from engine.cli import cli

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def hard_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from conftest import SHARED_DATA

    if not (SHARED_DATA / "prices").is_dir():
        pytest.skip(f"real-data snapshot not found at {SHARED_DATA} (set PLAYBOOK_SHARED_DATA)")
    out = tmp_path_factory.mktemp("runs")
    args = ["run", "hard-assets-vs-duration", "--data-dir", str(SHARED_DATA), "--no-report"]
    result = CliRunner().invoke(cli, [*args, "--results-dir", str(out)])
    assert result.exit_code == 0, result.output
    (folder,) = out.iterdir()
    return folder


def span_years(index: pd.DatetimeIndex) -> float:
    """Calendar years from the first bar's open (one first gap before it) to the last bar."""
    return (index[-1] - index[0] + (index[1] - index[0])).days / 365.25


def test_hard_assets_mixed_calendar_not_annualized_as_365(hard_assets):
    stats = json.loads((hard_assets / "stats.json").read_text())
    frame = pd.read_parquet(hard_assets / "returns.parquet")
    returns, cash = frame["strategy"], frame["cash"]
    index = pd.DatetimeIndex(frame.index)
    assert (index[index < "2014-09-17"].day_of_week < 5).all()  # weekdays until BTC's first bar
    assert (index[index > "2014-09-17"].day_of_week >= 5).any()
    years = span_years(index)
    bars_a_year = len(returns) / years
    excess = returns - cash
    cagr = float(np.prod(1 + returns.to_numpy()) ** (1 / years) - 1)
    vol = float(returns.std(ddof=1) * np.sqrt(bars_a_year))
    sharpe = float(excess.mean() / excess.std(ddof=1) * np.sqrt(bars_a_year))
    assert stats["periods_per_year"] == pytest.approx(bars_a_year, rel=1e-12)
    assert 252 < stats["periods_per_year"] < 365
    assert stats["cagr"] == pytest.approx(cagr, rel=1e-9)
    assert stats["cagr"] == pytest.approx(0.1660, abs=0.0005)  # the calendar CAGR
    assert stats["volatility"] == pytest.approx(vol, rel=1e-9)
    assert stats["sharpe"] == pytest.approx(sharpe, rel=1e-9)


def test_pre_btc_regime_volatility_not_annualized_as_365(hard_assets):
    """The GFC (2007-10-09 to 2009-03-09) has weekday bars only: ~252 a year, not 365."""
    frame = pd.read_parquet(hard_assets / "returns.parquet")
    table = pd.read_csv(hard_assets / "regimes.csv").set_index("regime")
    returns = frame["strategy"]
    inside = returns[(returns.index > "2007-10-09") & (returns.index <= "2009-03-09")]
    bars_a_year = len(inside) / span_years(pd.DatetimeIndex(inside.index))
    assert 245 < bars_a_year < 262
    want = inside.std(ddof=1) * np.sqrt(bars_a_year)
    assert table.loc["gfc", "bars"] == len(inside)
    assert table.loc["gfc", "volatility"] == pytest.approx(want, rel=1e-9)

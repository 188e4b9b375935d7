"""Metrics: known answers by hand, and the sweep's column-wise table equal to `summary`."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine import metrics

DAYS = pd.date_range("2024-01-01", periods=6, freq="D")


def test_known_answers_by_hand():
    returns = pd.Series([0.10, -0.50, 0.20, 0.0, 0.25, 0.0], index=DAYS)
    s = metrics.summary(returns, 365)
    assert s["total_return"] == pytest.approx(1.1 * 0.5 * 1.2 * 1.25 - 1)  # -0.175
    assert s["max_drawdown"] == pytest.approx(0.55 / 1.1 - 1)  # peak 1.1, trough 0.55: -50%
    years = 6 / 365.25  # six daily bars, counted from the first bar's open
    assert s["cagr"] == pytest.approx(0.825 ** (1 / years) - 1)
    assert s["volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(365))
    assert s["calmar"] == pytest.approx(s["cagr"] / 0.5)


def frame(columns: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame(columns, index=DAYS[: len(next(iter(columns.values())))])


CASES = {
    "random": None,
    "flat": frame({"a": [0.0] * 6, "b": [0.01] * 6}),
    "wiped-out": frame({"a": [0.1, -1.0, 0.0, 0.0, 0.0, 0.0], "b": [0.0, 0.1, 0.0, 0.2, -0.1, 0]}),
    "one-bar": frame({"a": [0.05], "b": [-0.05]}),
    "only-gains": frame({"a": [0.01, 0.02, 0.03, 0.01, 0.02, 0.03]}),
}


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("with_rf", [False, True])
def test_summary_table_equals_summary_column_by_column(name, with_rf):
    returns = CASES[name]
    if returns is None:
        rng = np.random.default_rng(3)
        index = pd.date_range("2020-01-01", periods=500, freq="B")
        returns = pd.DataFrame(rng.normal(0.0004, 0.01, (500, 7)), index=index)
    rf = pd.Series(0.0001, index=returns.index) if with_rf else None
    table = metrics.summary_table(returns, 252, rf)
    assert list(table.index) == list(returns.columns)
    for column in returns.columns:
        want = metrics.summary(returns[column], 252, rf)
        got = table.loc[column]
        for key, value in want.items():
            if math.isnan(value):
                assert math.isnan(got[key]), (key, got[key])
            else:
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key


def test_summary_table_of_no_bars():
    table = metrics.summary_table(pd.DataFrame({"a": []}, dtype="float64"), 252)
    want = metrics.summary(pd.Series([], dtype="float64"), 252)
    for key, value in want.items():
        got = table.loc["a", key]
        assert (math.isnan(value) and math.isnan(got)) or got == value, key

"""The benchmark's references reproduce the engine, so its speed-ups compare the same work.

Timings are never asserted here: they live in `python -m benchmarks`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import make_panel, random_walk

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # `benchmarks/` is a script package, not installed
    sys.path.insert(0, str(REPO))

from benchmarks import kernel  # noqa: E402
from benchmarks.market import fill_schedules, market_from_panel  # noqa: E402
from benchmarks.reference import simulate_reference  # noqa: E402
from engine.simulate import Costs, simulate  # noqa: E402

DAYS = pd.date_range("2021-01-01", periods=60)  # a 7-day calendar; B lists on day 8


def targets(rows: dict[pd.Timestamp, dict[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_dict(rows, orient="index", columns=["A", "B"]).fillna(0.0)
    frame.index = pd.DatetimeIndex(frame.index, name="date")
    return frame


@pytest.fixture
def case():
    """Two assets (one listing late), a cash rate moving 1% -> 5%, costs on every side."""
    panel = make_panel(
        {"A": random_walk(DAYS, 1, 0.03), "B": random_walk(DAYS[8:], 2, 0.05, 20.0)},
        macro={"DTB3": pd.Series(np.linspace(1.0, 5.0, len(DAYS)), index=DAYS)},
    )
    plans = [
        targets(  # in, rebalance into the new listing, flat, back in, long/short, levered
            {
                DAYS[0]: {"A": 0.6},
                DAYS[9]: {"A": 0.3, "B": 0.5},
                DAYS[20]: {},
                DAYS[30]: {"A": 1.0},
                DAYS[40]: {"A": -0.5, "B": 1.0},
                DAYS[50]: {"A": 1.5},
            }
        ),
        targets({DAYS[3]: {"A": 1.0}, DAYS[12]: {"B": 1.0}}),  # cash until the first fill
        targets({DAYS[0]: {}}),  # flat throughout: only the cash rate
    ]
    costs = Costs(fees_bps=10, slippage_bps=5, borrow_bps=100)
    return panel, plans, costs, DAYS[1]


def test_reference_loop_reproduces_engine_simulate(case):
    panel, plans, costs, start = case
    engine = simulate(panel, plans, costs, start=start).value
    market = market_from_panel(panel, ["A", "B"], start)
    for i, fills in enumerate(fill_schedules(panel, plans, start)):
        wealth = np.asarray(simulate_reference(market, fills, costs))
        np.testing.assert_allclose(wealth, engine.iloc[:, i].to_numpy(), rtol=1e-9, atol=0)
    assert engine.iloc[-1].nunique() == 3  # three different outcomes, not a trivial case


def test_numba_kernel_reproduces_engine_simulate(case):
    panel, plans, costs, start = case
    engine = simulate(panel, plans, costs, start=start).value.to_numpy()
    market = market_from_panel(panel, ["A", "B"], start)
    wealth = kernel.run(kernel.prepare(market, fill_schedules(panel, plans, start), costs))
    np.testing.assert_allclose(wealth, engine, rtol=1e-9, atol=0)


def test_flat_schedule_earns_exactly_the_cash_rate(case):
    panel, _, costs, start = case
    market = market_from_panel(panel, ["A", "B"], start)
    (fills,) = fill_schedules(panel, [targets({DAYS[0]: {}})], start)
    wealth = simulate_reference(market, fills, costs)
    days = (market.dates[1:] - market.dates[:-1]).days.to_numpy()
    growth = np.prod((1 + market.cash_rate[:-1]) ** (days / 365))
    assert wealth[-1] == pytest.approx(growth, rel=1e-12)


def test_runner_writes_valid_json(tmp_path):
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "startup", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(out.read_text())  # strict JSON: no NaN
    assert payload["quick"] is True and payload["measurements"] == ["startup"]
    assert {"cpu", "cores", "ram_gb", "versions"} <= set(payload["machine"])
    assert {"numpy", "pandas", "vectorbt", "numba"} <= set(payload["machine"]["versions"])
    (row,) = payload["rows"]
    assert row["case"] == "playbook --help" and row["reference"] > 0 and row["ratio"] > 0
    assert "playbook --help" in done.stdout  # the printed table

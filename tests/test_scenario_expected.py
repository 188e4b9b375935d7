"""The `expected:` lines of the named scenarios are what their paths do.

Each scenario YAML ends with the simple return of some assets per phase across 300 paths of
its default seed: "SYMBOL median% (5th% to 95th%, up on share%)", some "A behind B on share%"
(A's phase return below B's) and, for a phase with branches, BTC's figures per course. A
reader sizes a scenario by these lines, so they are recomputed here from the generated
closes with textbook definitions (a phase's return is its last close over the last close
before it, the first phase's over the first close; numpy's linear percentiles) and held to
the printed whole percents (one point for rounding). They once went stale: the generator
moved equity drift to 260.9 bars a year and the lines kept the 252-bar medians.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from engine.markets import generate_paths, load_scenario
from engine.markets.generator import path_courses

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = ["ai-boom", "ai-credit-crunch", "soft-landing", "stagflation"]
PATHS = 300
PCT = r"([+-]\d+)%"
FIGURE = re.compile(rf"(\S+) {PCT} \({PCT} to {PCT}, up on (\d+)%\)")
BEHIND = re.compile(r"(\S+) behind (\S+) on (\d+)%")
# ai-credit-crunch's crunch: "BTC keeps falling" is the phase's own numbers (course 0), "stocks
# catch down" its first branch (course 1), as the YAML's comment on the branch says
COURSES = {"falling": 0, "down": 1}


@cache
def scenario_paths(name: str) -> tuple[list, np.ndarray]:
    """300 paths of the scenario's default seed, and the course each takes in each phase."""
    scenario = load_scenario(name)
    markets = generate_paths(scenario, PATHS, scenario.seed)
    return markets, path_courses(scenario, scenario.seed, range(PATHS))


def phase_returns(name: str, phase: str, symbol: str) -> np.ndarray:
    """The phase's simple return of `symbol` on each path: its last close in the phase over
    the last close before the phase (the first phase: over the first close)."""
    scenario = load_scenario(name)
    ends = {p.name: pd.Timestamp(p.end) for p in scenario.phases}
    names = list(ends)
    k = names.index(phase)
    start = pd.Timestamp(scenario.start) if k == 0 else ends[names[k - 1]] + pd.Timedelta(days=1)
    returns = []
    for market in scenario_paths(name)[0]:
        close = market.prices[symbol]["close"].dropna()
        before = close[close.index < start]
        first = before.iloc[-1] if len(before) else close.iloc[0]
        returns.append(close[close.index <= ends[phase]].iloc[-1] / first - 1.0)
    return np.array(returns)


def expected_lines(name: str) -> list[tuple[str, str]]:
    data = yaml.safe_load((REPO / "configs" / "scenarios" / f"{name}.yaml").read_text())
    lines = [line.split(": ", 1) for line in data["expected"]]
    return [(phase, text) for phase, text in lines if phase != "macro"]


def whole_percents(returns: np.ndarray) -> np.ndarray:
    median, low, high = np.percentile(returns, [50, 5, 95]) * 100
    return np.array([median, low, high, (returns > 0).mean() * 100])


@pytest.mark.slow
@pytest.mark.parametrize("name", SCENARIOS)
def test_expected_lines_are_what_the_paths_do(name: str) -> None:
    courses = scenario_paths(name)[1]
    phases = [p.name for p in load_scenario(name).phases]
    checked = 0
    for phase, text in expected_lines(name):
        for label, *printed in FIGURE.findall(text):
            if label in COURSES:  # a course of the phase: BTC's return on the paths taking it
                taking = courses[:, phases.index(phase)] == COURSES[label]
                returns = phase_returns(name, phase, "BTC-USD")[taking]
            else:
                returns = phase_returns(name, phase, label)
            got = whole_percents(returns)
            want = np.array([float(x) for x in printed])
            assert np.abs(got - want).max() <= 1.0, (phase, label, got.round(1), want)
            checked += 1
        for lagging, leading, share in BEHIND.findall(text):
            behind = phase_returns(name, phase, lagging) < phase_returns(name, phase, leading)
            assert abs(behind.mean() * 100 - float(share)) <= 1.0, (phase, lagging, leading)
            checked += 1
    assert checked >= 10

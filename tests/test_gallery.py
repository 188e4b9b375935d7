"""The gallery's verdicts follow its figures; the constant-mix baseline; the DSR threshold;
docs/results.md regenerates byte for byte from the snapshot."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from engine.core.schedule import build_schedule
from engine.research import verdicts
from engine.research.gallery import average_weights, build_gallery
from engine.research.verdicts import Figures
from engine.sweep.overfit import deflated_sharpe
from strategies import REGISTRY
from strategies.baselines import ConstantMix, ConstantMixParams
from tests.conftest import REPO, make_panel

OURS = Figures(cagr=0.286, sharpe=0.97, max_drawdown=-0.27)


def test_hold_sentence_flips_on_each_figure() -> None:
    worse = Figures(cagr=0.54, sharpe=0.96, max_drawdown=-0.83)
    text = verdicts.hold_sentence("BTC-USD", OURS, worse)
    assert "earned less (CAGR 28.6% vs 54.0%)" in text
    assert "shallower worst drawdown (-27.0% vs -83.0%)" in text
    assert "Sharpe beat buy-and-hold's (0.97 vs 0.96)" in text
    better = Figures(cagr=0.10, sharpe=0.98, max_drawdown=-0.20)
    text = verdicts.hold_sentence("BTC-USD", OURS, better)
    assert "earned more" in text and "deeper worst drawdown" in text
    assert "did not beat buy-and-hold's (0.97 vs 0.98)" in text


@pytest.mark.parametrize(
    ("constant_sharpe", "words"),
    [
        (0.87, "an edge"),  # exactly EDGE_SHARPE below ours
        (0.88, "no edge"),
        (1.06, "no edge"),
        (1.07, "worse than no timing"),
    ],
)
def test_edge_sentence_flips_at_the_edge_threshold(constant_sharpe: float, words: str) -> None:
    constant = Figures(cagr=0.16, sharpe=constant_sharpe, max_drawdown=-0.28)
    text = verdicts.edge_sentence("21.7% BTC-USD", OURS, constant)
    assert f": {words}" in text
    assert f"Sharpe is 0.97 vs {constant_sharpe:.2f}" in text
    assert "constant 21.7% BTC-USD" in text


def test_legs_sentence_names_the_largest_and_the_losers() -> None:
    legs = {"GLD": 1.373, "BTC-USD": 2.421, "TLT~short": -0.282, "CASH": 0.225, "costs": -0.008}
    text = verdicts.legs_sentence(legs)
    assert "GLD +137.3 pts, BTC-USD +242.1 pts, TLT~short -28.2 pts" in text
    assert "The largest contribution is BTC-USD; the TLT~short leg lost money." in text
    assert "no risky leg lost money" in verdicts.legs_sentence({"BTC-USD": 3.3, "CASH": 0.1})


def test_excess_sentence_says_whether_one_leg_covers_the_excess() -> None:
    covered = verdicts.excess_sentence("GLD", 1.141, {"BTC-USD": 2.421, "TLT~short": -0.282})
    assert covered.startswith("It summed 114.1 pts more than buy-and-hold GLD")
    assert "the BTC-USD leg alone covers that excess" in covered
    short = verdicts.excess_sentence("GLD", 1.141, {"BTC-USD": 1.0, "TLT~short": 0.1})
    assert "no other leg covers it" in short
    behind = verdicts.excess_sentence("GLD", -0.2, {"BTC-USD": 0.5})
    assert "20.0 pts less than" in behind and "no other leg covers it" in behind


def test_rules_sentence_separates_time_out_of_the_market() -> None:
    rules = [("alarm", 0.0, 0.054), ("pivot", 1.0, 3.47), ("stance", 0.974, -0.18)]
    text = verdicts.rules_sentence(rules)
    assert "under [pivot] 100.0% exposure, +347.0 pts" in text
    assert "Most came under [pivot]." in text
    assert "Out of the market ([alarm]) it earned T-bills only: +5.4 pts." in text
    at_threshold = verdicts.rules_sentence([("cut", verdicts.OUT_OF_MARKET, 0.01)])
    assert "Out of the market ([cut])" in at_threshold
    above = verdicts.rules_sentence([("cut", verdicts.OUT_OF_MARKET + 0.001, 0.01)])
    assert "never fully out of the market" in above


def test_regime_reading_follows_exposure_and_rules() -> None:
    rules = ("alarm", "pivot")
    assert verdicts.regime_reading(0.0, 0.0, [], rules) == (
        "already out at the start; no decision inside"
    )
    assert verdicts.regime_reading(1.0, 0.1, [("2021-05-15", "alarm")], rules) == (
        "out by the trough; thesis rule: [alarm] 2021-05-15"
    )
    text = verdicts.regime_reading(0.5, 0.11, [("d1", "rebalance")] * 4, rules)
    assert text == "held 11.0% into the trough; other: [rebalance] x4"


def test_mechanism_sentence_counts() -> None:
    text = verdicts.mechanism_sentence(8, 6, 3, 3)
    assert text == (
        "It was out of the market at 6 of 8 regime troughs; 3 of 3 of its decisions inside "
        "regimes came from the rules the thesis names."
    )
    assert "none of its decisions" in verdicts.mechanism_sentence(2, 0, 0, 0)


@pytest.mark.parametrize(
    ("crunch", "pivot", "words"),
    [
        (0.10, 0.50, "it de-levered in the crunch and re-entered after the pivot"),
        (0.11, 0.50, "did not de-lever in the crunch (11.0% exposure)"),
        (0.0, 0.49, "did not re-enter after the pivot (49.0% exposure)"),
    ],
)
def test_scenario_sentence_flips_at_its_thresholds(crunch: float, pivot: float, words: str) -> None:
    text = verdicts.scenario_sentence(
        "ai-credit-crunch", 50, 0.211, 0.446, "BTC-USD", 0.30, crunch, pivot
    )
    assert words in text
    assert "median CAGR is 21.1% vs 44.6% for holding BTC-USD" in text
    assert "usually did not beat holding BTC-USD (P(beat) 30.0%)" in text
    winning = verdicts.scenario_sentence("s", 50, 0.3, 0.2, "BTC-USD", 0.52, crunch, pivot)
    assert "usually beat holding BTC-USD (P(beat) 52.0%)" in winning


@pytest.mark.parametrize(
    ("dsr", "pbo", "luck", "fit"),
    [
        (0.95, 0.50, "unlikely to be luck", "not obviously overfit"),
        (0.9499, 0.5001, "not distinguishable from luck", "likely overfit"),
    ],
)
def test_sweep_sentence_flips_at_its_thresholds(
    dsr: float, pbo: float, luck: str, fit: str
) -> None:
    text = verdicts.sweep_sentence(135, 1.13, dsr, 0.88, "BTC-USD", 0.95, pbo)
    assert luck in text and fit in text
    assert f"deflated Sharpe ratio of {dsr:.2f} tested against BTC-USD's Sharpe of 0.95" in text
    assert "0.88 against zero" in text


def test_walk_forward_sentence_flips_at_half() -> None:
    assert "picking did not help" in verdicts.walk_forward_sentence(8, 0.5, 0.01, 0.02)
    text = verdicts.walk_forward_sentence(8, 0.625, 0.05, 0.02)
    assert "beat the median set in 62.5% of 8 windows" in text and "picking helped" in text


def test_dsr_tested_against_benchmark_sharpe() -> None:
    """The sweep's DSR asked whether the best set beats zero; a playbook has to beat holding
    its benchmark. Paper formula written out: PSR against SR0 = benchmark + E[max SR]."""
    sharpe, bars, skew, kurt, trials, var, bench = 0.059, 4356, 0.35, 13.5, 135, 2.44e-4, 0.05
    a, b = norm.ppf(1 - 1 / trials), norm.ppf(1 - 1 / (trials * math.e))
    gamma = 0.5772156649015329
    expected_max = math.sqrt(var) * ((1 - gamma) * a + gamma * b)
    denominator = math.sqrt(1 - skew * sharpe + (kurt - 1) / 4 * sharpe**2)

    def psr(threshold: float) -> float:
        return float(norm.cdf((sharpe - threshold) * math.sqrt(bars - 1) / denominator))

    against_zero = deflated_sharpe(sharpe, bars, skew, kurt, trials, var)
    against_bench = deflated_sharpe(sharpe, bars, skew, kurt, trials, var, threshold=bench)
    assert against_zero == pytest.approx(psr(expected_max), abs=1e-12)
    assert against_bench == pytest.approx(psr(bench + expected_max), abs=1e-12)
    assert against_bench < against_zero


def test_constant_mix_holds_its_weights_on_its_schedule() -> None:
    index = pd.date_range("2021-01-04", "2021-04-30", freq="B")
    rng = np.random.default_rng(1)
    panel = make_panel(
        {
            "A": list(100 * np.cumprod(1 + rng.normal(0, 0.01, len(index)))),
            "B": list(50 * np.cumprod(1 + rng.normal(0, 0.01, len(index)))),
        },
        index,
    )
    assert REGISTRY["constant-mix"] is ConstantMix
    strategy = ConstantMix(ConstantMixParams(weights={"A": 0.4, "B": -0.2}))
    targets = build_schedule(strategy, panel).targets
    assert list(targets.index) == [
        index[0],
        *pd.DatetimeIndex(["2021-02-01", "2021-03-01", "2021-04-01"]),
    ]
    assert (targets["A"] == 0.4).all() and (targets["B"] == -0.2).all()
    with pytest.raises(ValueError, match="at least one symbol"):
        ConstantMixParams(weights={})


def test_average_weights_count_short_legs_as_negative() -> None:
    weights = pd.DataFrame(
        {"GLD": [0.5, 0.6], "TLT": [0.0, 0.0], "TLT~short": [-0.3, -0.2], "CASH": [0.8, 0.6]}
    )
    assert average_weights(weights) == {"GLD": 0.55, "TLT": -0.25}


@pytest.mark.realdata
@pytest.mark.slow
def test_gallery_regenerates_committed_results_byte_for_byte(
    shared_data: Path, tmp_path: Path
) -> None:
    """docs/results.md is what the gallery writes from the snapshot (regenerate after a
    strategy change: `playbook report gallery --data-dir ../shared/data`)."""
    written = build_gallery(shared_data, tmp_path, REPO / "configs")
    committed = (REPO / "docs" / "results.md").read_text()
    assert written.read_text().replace(f"`{shared_data.name}`", "`data`") == committed

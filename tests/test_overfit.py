"""Overfitting statistics against the published formulas and hand-built cases."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy.stats import kurtosis as scipy_kurtosis
from scipy.stats import skew as scipy_skew

from engine.sweep.overfit import (
    block_moments,
    block_moments_of_rows,
    deflated_sharpe,
    expected_max_sharpe,
    probability_of_overfitting,
    sharpe_from_moments,
    sharpe_from_sums,
    skew_kurtosis_from_moments,
)


def test_deflated_sharpe_matches_the_papers_numerical_example():
    # Bailey & Lopez de Prado (2014), section 4: annual SR 2.5 on T=1250 daily bars, N=100
    # trials with annualized Sharpe variance 1/2, skewness -3, kurtosis 10 -> DSR ~ 0.9004
    per_year = 250
    benchmark = expected_max_sharpe(100, 0.5 / per_year)
    assert benchmark == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe(2.5 / np.sqrt(per_year), 1250, -3.0, 10.0, 100, 0.5 / per_year)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_one_trial_is_not_deflated_and_more_trials_deflate_more():
    assert expected_max_sharpe(1, 0.01) == 0.0
    values = [deflated_sharpe(0.1, 1000, 0.0, 3.0, n, 0.002) for n in (1, 10, 1000)]
    assert values[0] > values[1] > values[2]


def test_moments_reproduce_sharpe_skew_and_kurtosis():
    rng = np.random.default_rng(1)
    excess = rng.standard_t(5, size=(997, 3)) * 0.01 + 0.0005
    total = block_moments(excess, 7).sum(axis=0)
    sharpe = excess.mean(axis=0) / excess.std(axis=0, ddof=1)
    np.testing.assert_allclose(sharpe_from_moments(total), sharpe, rtol=1e-9)
    skew, kurt = skew_kurtosis_from_moments(total)
    np.testing.assert_allclose(skew, scipy_skew(excess), rtol=1e-6)
    np.testing.assert_allclose(kurt, scipy_kurtosis(excess, fisher=False), rtol=1e-6)


def test_pbo_is_one_when_the_in_sample_winner_always_loses_out_of_sample():
    # two trials, two blocks: each trial wins one half and loses the other
    a = np.r_[np.full(50, 0.02), np.full(50, -0.01)] + np.tile([0.001, -0.001], 50)
    b = np.r_[np.full(50, -0.01), np.full(50, 0.02)] + np.tile([0.001, -0.001], 50)
    moments = block_moments(np.column_stack([a, b]), 2)
    assert probability_of_overfitting(moments) == 1.0


def test_pbo_is_zero_for_a_consistently_better_trial():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.01, size=(1200, 20))
    noise[:, 7] += 0.004  # skill that shows in every block
    assert probability_of_overfitting(block_moments(noise, 10)) == 0.0


def test_pbo_of_pure_noise_is_near_one_half():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.01, size=(2000, 50))
    assert 0.3 < probability_of_overfitting(block_moments(noise, 10)) < 0.7


def test_block_moments_of_rows_are_those_of_the_excess_returns():
    rng = np.random.default_rng(5)
    returns, rf = rng.normal(0.001, 0.02, (3, 50)), rng.uniform(0, 0.001, 50)
    got = block_moments_of_rows(returns, rf, 4)
    excess = (returns - rf).T
    edges = np.linspace(0, 50, 5).round().astype(int)
    for b in range(4):
        part = excess[edges[b] : edges[b + 1]]
        want = [np.full(3, len(part)), *((part**k).sum(axis=0) for k in range(1, 5))]
        np.testing.assert_allclose(got[b].T, want, rtol=1e-12)


def _pbo_as_first_written(moments: np.ndarray, max_combinations: int = 1000, seed: int = 0):
    """The formula before issue 22, verbatim: every split's blocks summed afresh, all five
    moments, the splits listed (and sampled from the list)."""
    import itertools
    import math

    blocks, trials = moments.shape[0], moments.shape[1]
    combos = list(itertools.combinations(range(blocks), blocks // 2))
    if len(combos) > max_combinations:
        rng = np.random.default_rng(seed)
        picked = rng.choice(len(combos), size=max_combinations, replace=False)
        combos = [combos[i] for i in sorted(picked)]
    total = moments.sum(axis=0)
    below = 0
    for combo in combos:
        inside = moments[list(combo)].sum(axis=0)
        best = int(np.nanargmax(sharpe_from_moments(inside)))
        outside = sharpe_from_moments(total - inside)
        rank = float((outside < outside[best]).sum() + 1)
        relative = rank / (trials + 1)
        below += math.log(relative / (1 - relative)) <= 0
    return below / len(combos)


@pytest.mark.parametrize(
    ("blocks", "trials", "cap"),
    [
        (2, 5, 1000),
        (6, 40, 1000),
        (10, 3000, 1000),
        (12, 500, 1000),
        (14, 300, 1000),
        (16, 200, 100),
    ],
)
def test_pbo_prefix_sums_equal_the_formula_as_first_written(blocks: int, trials: int, cap: int):
    """Issue 22: PBO sums only count, sum and squares and reuses the prefix a split shares
    with the previous one; on random tables (with ties and flat trials) it is the old value."""
    rng = np.random.default_rng(blocks)
    returns = rng.standard_t(4, size=(blocks * 30, trials)) * 0.01 + rng.normal(0, 0.002, trials)
    returns[:, 1] = returns[:, 0]  # an exact tie
    returns[: len(returns) // 2, 2] = 0.0  # flat in some blocks
    moments = block_moments(returns, blocks)
    assert probability_of_overfitting(moments, cap) == _pbo_as_first_written(moments, cap)
    moments[0, 3:, 0] -= rng.integers(0, 3, trials - 3)  # bars differ between sets
    assert probability_of_overfitting(moments, cap) == _pbo_as_first_written(moments, cap)
    # and the Sharpe ratios it ranks are the old ones to the bit
    inside = moments[: blocks // 2].sum(axis=0)
    parts = [moments[b, :, :3] for b in range(blocks // 2)]
    summed = functools.reduce(lambda a, b: a + b, parts)
    np.testing.assert_array_equal(
        sharpe_from_sums(*summed.T), sharpe_from_moments(inside), strict=True
    )


def test_pbo_samples_splits_of_32_blocks_without_listing_them():
    """Issue 22: 32 blocks have 601 million splits; listing them ran out of memory."""
    rng = np.random.default_rng(4)
    moments = block_moments(rng.normal(0, 0.01, size=(640, 30)), 32)
    assert 0.0 <= probability_of_overfitting(moments, max_combinations=50) <= 1.0


def test_nth_combination_is_itertools_order():
    import itertools

    from engine.sweep.overfit import nth_combination

    for n, k in ((6, 3), (10, 5), (7, 2)):
        listed = list(itertools.combinations(range(n), k))
        assert [nth_combination(n, k, i) for i in range(len(listed))] == listed

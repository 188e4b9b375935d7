"""How much of a sweep's best result is luck: deflated Sharpe ratio and PBO (CSCV).

Both work from per-block moments of each trial's excess returns (count, sum of r, r^2, r^3,
r^4 per block), so a sweep never keeps its return matrix: any union of blocks has exact
Sharpe, skewness and kurtosis from summed moments.

- Deflated Sharpe ratio: Bailey & Lopez de Prado (2014), "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality", JPM 40(5).
- Probability of backtest overfitting by combinatorially symmetric cross-validation:
  Bailey, Borwein, Lopez de Prado & Zhu (2015), "The Probability of Backtest Overfitting",
  J. of Computational Finance 20(4).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator

import numpy as np
from scipy.stats import norm

EULER_GAMMA = 0.5772156649015329
MOMENTS = ("n", "s1", "s2", "s3", "s4")


def block_moments(excess: np.ndarray, blocks: int) -> np.ndarray:
    """(blocks, trials, 5) sums of r^0..r^4 over contiguous, near-equal blocks of bars."""
    rows = np.ascontiguousarray(np.asarray(excess, dtype=np.float64).T)
    return block_moments_of_rows(rows, np.zeros(rows.shape[1]), blocks)


def block_moments_of_rows(returns: np.ndarray, rf: np.ndarray, blocks: int) -> np.ndarray:
    """`block_moments` of returns - rf, with returns as trials x bars (a sweep's layout)."""
    from engine.core.metrics_kernel import block_moments_nb

    bars = returns.shape[1]
    edges = np.linspace(0, bars, blocks + 1).round().astype(np.int64)
    out = np.zeros((blocks, returns.shape[0], len(MOMENTS)))
    block_moments_nb(returns, np.asarray(rf, dtype=np.float64), edges, out)
    return out


def sharpe_from_moments(m: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratio (ddof=1) from summed moments (..., 5)."""
    return sharpe_from_sums(m[..., 0], m[..., 1], m[..., 2])


def sharpe_from_sums(n: np.ndarray, s1: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """`sharpe_from_moments` from the only three moments it reads (count, sum, squares)."""
    mean = s1 / n
    var = (s2 - n * mean**2) / np.maximum(n - 1, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0, mean / np.sqrt(var), np.nan)  # sqrt(<0) is masked


def skew_kurtosis_from_moments(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Population skewness and (non-excess) kurtosis from summed moments."""
    n, s1, s2, s3, s4 = (m[..., k] for k in range(5))
    mu = s1 / n
    c2 = s2 / n - mu**2
    c3 = s3 / n - 3 * mu * s2 / n + 2 * mu**3
    c4 = s4 / n - 4 * mu * s3 / n + 6 * mu**2 * s2 / n - 3 * mu**4
    with np.errstate(divide="ignore", invalid="ignore"):
        return c3 / c2**1.5, c4 / c2**2


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """E[max SR] of `trials` unskilled strategies whose Sharpe ratios have this variance."""
    if trials < 2:
        return 0.0
    a = norm.ppf(1 - 1 / trials)
    b = norm.ppf(1 - 1 / (trials * math.e))
    return math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * a + EULER_GAMMA * b)


def deflated_sharpe(
    sharpe: float,
    bars: int,
    skew: float,
    kurtosis: float,
    trials: int,
    sharpe_variance: float,
    threshold: float = 0.0,
) -> float:
    """P(true Sharpe > `threshold` + the best that luck gives across `trials`), all per
    period (not annual).

    `threshold` 0 tests for any skill over cash (the paper's null, what a sweep's
    summary.json reports); a benchmark's own per-period Sharpe over the same bars tests for
    skill over holding the benchmark, the question a playbook has to answer.
    `kurtosis` is non-excess (3 for a normal distribution).
    """
    benchmark = threshold + expected_max_sharpe(trials, sharpe_variance)
    denominator = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if bars < 2 or not denominator > 0:
        return float("nan")
    return float(norm.cdf((sharpe - benchmark) * math.sqrt(bars - 1) / math.sqrt(denominator)))


def probability_of_overfitting(
    moments: np.ndarray, max_combinations: int = 1000, seed: int = 0
) -> float:
    """PBO by CSCV of (blocks, trials, 5) moments held in memory (`overfitting_of_slabs`)."""
    return overfitting_of_slabs(lambda: iter([moments]), max_combinations, seed)


def overfitting_of_slabs(
    slabs: Callable[[], Iterator[np.ndarray]], max_combinations: int = 1000, seed: int = 0
) -> float:
    """PBO by CSCV: how often the in-sample best trial is below the median out of sample.

    `slabs()` gives the (blocks, trials, 5) moments a slab of consecutive trials at a time
    (a sweep's chunk files, issue 22: a million sets' moments never sit in memory at once);
    the blocks must be even. Each split of the blocks into halves is one in-sample/
    out-of-sample pair; the logit of the best in-sample trial's out-of-sample relative rank
    is <= 0 when it did no better than the median.

    The first pass finds each split's in-sample best over every slab (the first of equal
    ones, as np.nanargmax over all trials) and its out-of-sample Sharpe; the second counts
    the trials below it. With one slab the best is final within the pass, so it counts at
    once. Every trial's Sharpe is the same arithmetic as over the whole matrix (sums per
    trial, element by element), so the result is identical.
    """
    best: list[tuple[float, int, float]] | None = None  # per split: in-sample, trial, out
    splits: list[tuple[int, ...]] = []
    counts: list[int] = []  # trials below each split's best out of sample, on the first slab
    trials = slab_count = 0
    for slab in slabs():
        if best is None:
            if slab.shape[0] % 2:
                return float("nan")
            splits = list(cscv_splits(slab.shape[0], max_combinations, seed))
            best = [(-math.inf, -1, math.nan)] * len(splits)
        for j, (inside, outside) in enumerate(_split_sharpes(slab, splits)):
            if not np.isnan(inside).all():
                i = int(np.nanargmax(inside))
                if inside[i] > best[j][0]:
                    best[j] = (float(inside[i]), trials + i, float(outside[i]))
            if slab_count == 0:
                counts.append(int((outside < best[j][2]).sum()))
        trials += slab.shape[1]
        slab_count += 1
    if best is None or trials < 2:
        return float("nan")
    if any(trial < 0 for _, trial, _ in best):  # a half of the blocks where no set has a
        return float("nan")  # Sharpe (all of them flat: never traded, say): no best to rank
    if slab_count > 1:  # the first slab's counts were against a best that later slabs beat
        counts = [0] * len(best)
        for slab in slabs():
            for j, (_, outside) in enumerate(_split_sharpes(slab, splits)):
                counts[j] += int((outside < best[j][2]).sum())
    below = 0
    for count in counts:
        relative = (count + 1) / (trials + 1)  # rank 1 = worst out of sample
        below += math.log(relative / (1 - relative)) <= 0
    return below / len(counts)


def _split_sharpes(
    moments: np.ndarray, splits: list[tuple[int, ...]]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Each split's in-sample and out-of-sample per-period Sharpe of every trial in `moments`.

    Only count, sum and sum of squares enter a Sharpe ratio, so only those are summed, and
    the splits come in lexicographic order, so a split's in-sample sum extends the sum of
    the prefix it shares with the previous split: the same additions in the same order as
    summing each split's blocks afresh (identical numbers), about half as many (issue 22).
    """
    parts = [np.ascontiguousarray(moments[..., k]) for k in range(3)]  # n, s1, s2
    if (parts[0] == parts[0][:, :1]).all():  # one window: a block's bar count is one number
        parts[0] = parts[0][:, :1]  # broadcast: the same divisions, a third fewer additions
    total = [p.sum(axis=0) for p in parts]
    prefix: list[list[np.ndarray]] = []  # prefix[d]: the sums over the split's first d+1 blocks
    previous: tuple[int, ...] = ()
    for combo in splits:
        shared = 0
        while shared < len(previous) and combo[shared] == previous[shared]:
            shared += 1
        del prefix[shared:]
        for d in range(shared, len(combo)):
            row = [p[combo[d]] for p in parts]
            prefix.append(row if d == 0 else [s + r for s, r in zip(prefix[-1], row, strict=True)])
        previous = combo
        inside = prefix[-1]
        outside = sharpe_from_sums(*(t - s for t, s in zip(total, inside, strict=True)))
        yield sharpe_from_sums(*inside), outside


def cscv_splits(blocks: int, max_combinations: int, seed: int) -> Iterator[tuple[int, ...]]:
    """The in-sample halves of CSCV in lexicographic order: all of them, or a seeded sample
    of `max_combinations` when there are more (drawn by index, never listing them all: 32
    blocks have 601 million)."""
    half = blocks // 2
    count = math.comb(blocks, half)
    if count <= max_combinations:
        yield from itertools.combinations(range(blocks), half)
        return
    rng = np.random.default_rng(seed)
    for index in sorted(rng.choice(count, size=max_combinations, replace=False).tolist()):
        yield nth_combination(blocks, half, index)


def nth_combination(n: int, k: int, index: int) -> tuple[int, ...]:
    """The index-th k-subset of range(n) in itertools.combinations order."""
    picked: list[int] = []
    item = 0
    while k:
        skip = math.comb(n - item - 1, k - 1)  # subsets that take `item` next
        if index < skip:
            picked.append(item)
            k -= 1
        else:
            index -= skip
        item += 1
    return tuple(picked)

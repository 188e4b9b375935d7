"""The gallery's verdicts: one small function per sentence, from figures to words.

Each takes only numbers (and names) and returns the sentence, so the words follow the
numbers when a strategy or the data changes; tests feed made-up figures and check that the
words flip at the thresholds below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

EDGE_SHARPE = 0.10  # a Sharpe this much above the constant mix counts as a timing edge
OUT_OF_MARKET = 0.10  # gross exposure at or below this is "out" (in T-bills)
IN_MARKET = 0.50  # median exposure at or above this is "back in"
DSR_CONFIDENT = 0.95  # deflated Sharpe at or above this: unlikely to be luck
PBO_OVERFIT = 0.50  # PBO above this: the in-sample best is usually below median out of sample


@dataclass(frozen=True)
class Figures:
    """Headline figures of one run (fractions, Sharpe as a ratio)."""

    cagr: float
    sharpe: float
    max_drawdown: float


def pct(value: float, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:+.1%}" if signed else f"{value:.1%}"


def pts(value: float) -> str:
    """A summed return in percentage points, signed."""
    return f"{value * 100:+.1f} pts"


def hold_sentence(asset: str, ours: Figures, hold: Figures) -> str:
    """Against buy-and-hold of what it trades: return, worst drawdown and Sharpe."""
    more = "more" if ours.cagr > hold.cagr else "less"
    depth = "shallower" if ours.max_drawdown > hold.max_drawdown else "deeper"
    beat = "beat" if ours.sharpe > hold.sharpe else "did not beat"
    return (
        f"Against buy-and-hold {asset} it earned {more} (CAGR {pct(ours.cagr)} vs "
        f"{pct(hold.cagr)}) with a {depth} worst drawdown ({pct(ours.max_drawdown)} vs "
        f"{pct(hold.max_drawdown)}); its Sharpe {beat} buy-and-hold's "
        f"({ours.sharpe:.2f} vs {hold.sharpe:.2f})."
    )


def edge_sentence(mix: str, ours: Figures, constant: Figures) -> str:
    """Against the same average exposure held constantly: is there a timing edge?

    Judged on the Sharpe ratios as printed (2 decimals), so the words match the page."""
    gap = round(round(ours.sharpe, 2) - round(constant.sharpe, 2), 2)
    if gap >= EDGE_SHARPE:
        reading = "an edge: the timing added return per unit of risk"
    elif gap > -EDGE_SHARPE:
        reading = "no edge: holding the same exposure constantly did as well"
    else:
        reading = "worse than no timing: holding the same exposure constantly did better"
    return (
        f"Against a constant {mix} (its average exposure, the rest in T-bills, rebalanced "
        f"monthly, same costs and window) its Sharpe is {ours.sharpe:.2f} vs "
        f"{constant.sharpe:.2f} (CAGR {pct(ours.cagr)} vs {pct(constant.cagr)}, max drawdown "
        f"{pct(ours.max_drawdown)} vs {pct(constant.max_drawdown)}): {reading}."
    )


def legs_sentence(legs: Mapping[str, float]) -> str:
    """What each leg contributed (summed previous-weight x return), the losers named."""
    parts = ", ".join(f"{name} {pts(value)}" for name, value in legs.items())
    risky = {k: v for k, v in legs.items() if k not in ("CASH", "costs")}
    if not risky:
        return f"By leg: {parts}; it never held a risky asset."
    top = max(risky, key=lambda k: risky[k])
    losers = [k for k, v in risky.items() if v < 0]
    lost = (
        f"; the {', '.join(losers)} leg{'s' if len(losers) > 1 else ''} lost money"
        if losers
        else "; no risky leg lost money"
    )
    return f"By leg: {parts}. The largest contribution is {top}{lost}."


def excess_sentence(asset: str, excess: float, others: Mapping[str, float]) -> str:
    """Summed return over buy-and-hold `asset`, set against the legs that are not that asset."""
    ahead = "more" if excess > 0 else "less"
    head = f"It summed {pts(abs(excess))[1:]} {ahead} than buy-and-hold {asset}"
    if not others:
        return f"{head}."
    named = ", ".join(f"{k} {pts(v)}" for k, v in others.items())
    best = max(others, key=lambda k: others[k])
    covers = excess > 0 and others[best] >= excess
    tail = f"the {best} leg alone covers that excess" if covers else "no other leg covers it"
    return f"{head}; its legs other than {asset} and cash: {named}; {tail}."


def rules_sentence(rules: Sequence[tuple[str, float, float]]) -> str:
    """Per rule in force: (rule, mean exposure, summed return); where the return came from."""
    if not rules:
        return "No decision filled in the window."
    parts = "; ".join(
        f"under [{rule}] {pct(exposure)} exposure, {pts(total)}" for rule, exposure, total in rules
    )
    best = max(rules, key=lambda r: r[2])
    out = [r for r in rules if r[1] <= OUT_OF_MARKET]
    if out:
        tail = (
            f" Out of the market ([{'], ['.join(r[0] for r in out)}]) it earned T-bills only: "
            f"{pts(sum(r[2] for r in out))}."
        )
    else:
        tail = " It was never fully out of the market."
    return f"By the rule in force: {parts}. Most came under [{best[0]}].{tail}"


def regime_reading(
    start_exposure: float,
    trough_exposure: float,
    decisions: Sequence[tuple[str, str]],
    thesis_rules: Sequence[str],
) -> str:
    """One regime: where exposure stood, and whether its decisions were the thesis's rules."""
    if trough_exposure <= OUT_OF_MARKET:
        held = (
            "already out at the start" if start_exposure <= OUT_OF_MARKET else "out by the trough"
        )
    else:
        held = f"held {pct(trough_exposure)} into the trough"
    if not decisions:
        acted = "no decision inside"
    else:
        named = _grouped([(d, r) for d, r in decisions if r in thesis_rules])
        other = _grouped([(d, r) for d, r in decisions if r not in thesis_rules])
        acted = "; ".join(
            [
                *([f"thesis rule: {named}"] if named else []),
                *([f"other: {other}"] if other else []),
            ]
        )
    return f"{held}; {acted}"


def _grouped(decisions: Sequence[tuple[str, str]]) -> str:
    """Decisions by rule: the dates when there are at most three, else how many."""
    rules: dict[str, list[str]] = {}
    for day, rule in decisions:
        rules.setdefault(rule, []).append(day)
    return ", ".join(
        f"[{rule}] {' '.join(days)}" if len(days) <= 3 else f"[{rule}] x{len(days)}"
        for rule, days in rules.items()
    )


def mechanism_sentence(
    regimes: int, out_at_trough: int, thesis_decisions: int, decisions: int
) -> str:
    """Across regimes: how often it was out at the trough, how many decisions were the rule's."""
    if regimes == 0:
        return "No named regime falls inside the window."
    share = f"{thesis_decisions} of {decisions}" if decisions else "none"
    return (
        f"It was out of the market at {out_at_trough} of {regimes} regime troughs; "
        f"{share} of its decisions inside regimes came from the rules the thesis names."
    )


def scenario_sentence(
    scenario: str,
    paths: int,
    median_cagr: float,
    benchmark_cagr: float,
    benchmark: str,
    p_beat: float,
    crunch_exposure: float,
    pivot_exposure: float,
) -> str:
    """What the generated futures say: returns, P(beat), and whether the mechanism fired."""
    delever = (
        "de-levered in the crunch"
        if crunch_exposure <= OUT_OF_MARKET
        else f"did not de-lever in the crunch ({pct(crunch_exposure)} exposure)"
    )
    reenter = (
        "re-entered after the pivot"
        if pivot_exposure >= IN_MARKET
        else f"did not re-enter after the pivot ({pct(pivot_exposure)} exposure)"
    )
    beat = "usually beat" if p_beat > 0.5 else "usually did not beat"
    return (
        f"On {paths} seeded paths of the `{scenario}` scenario its median CAGR is "
        f"{pct(median_cagr)} vs {pct(benchmark_cagr)} for holding {benchmark}; it {beat} "
        f"holding {benchmark} (P(beat) {pct(p_beat)}). Median exposure {pct(crunch_exposure)} "
        f"in the crunch and {pct(pivot_exposure)} after the pivot: it {delever} and {reenter}."
    )


def sweep_sentence(
    trials: int,
    sharpe: float,
    dsr_benchmark: float,
    dsr_zero: float,
    benchmark: str,
    benchmark_sharpe: float,
    pbo: float,
) -> str:
    """Deflated Sharpe against the benchmark (the one reported) and against zero, and PBO."""
    luck = (
        "unlikely to be luck" if dsr_benchmark >= DSR_CONFIDENT else "not distinguishable from luck"
    )
    overfit = (
        "the selection is likely overfit"
        if pbo > PBO_OVERFIT
        else "the selection is not obviously overfit"
    )
    return (
        f"Of {trials} parameter sets the best (Sharpe {sharpe:.2f}) has a deflated Sharpe "
        f"ratio of {dsr_benchmark:.2f} tested against {benchmark}'s Sharpe of "
        f"{benchmark_sharpe:.2f} (its series on the sweep's bars, before trading costs; the "
        f"figure reported here; {dsr_zero:.2f} against zero, summary.json's figure): its edge "
        f"over holding {benchmark} is {luck}. "
        f"PBO {pct(pbo)}: the in-sample best ranked at or below the median out of sample "
        f"in {pct(pbo)} of splits; {overfit}."
    )


def walk_forward_sentence(windows: int, share: float, picked: float, median: float) -> str:
    """Did picking the best set on past blocks beat the median set on the next block?"""
    verdict = "picking helped" if share > 0.5 else "picking did not help"
    return (
        f"Walk-forward: the set picked on past blocks beat the median set in {pct(share)} of "
        f"{windows} windows (mean per-bar Sharpe {picked:.3f} vs {median:.3f}): {verdict}."
    )


def sample_sentence() -> str:
    """The thesis's own event is absent from history: say so before the scenario figures."""
    return (
        "The thesis event (an AI credit crunch followed by emergency printing) is not in the "
        "real sample: its emergency printing followed other shocks (the covid crash, the 2023 "
        "bank run), so the history above tests the rules, not the forecast."
    )

"""Measurements 1 and 2: sweep throughput against the event-loop reference, and the limit.

Three ways through the same parameter sets, all on the same decisions and prices:

- playbook's sweep end to end (`benchmarks.sweep_child`: signals, decisions, one
  `simulate_sets` kernel call per chunk, metrics, chunk files), in a fresh process per size;
- playbook's sweep simulation alone: `engine.core.simulate.simulate_sets` on the sets'
  `Decisions`, chunk by chunk as the sweep calls it (fill rows, the shared price table,
  vectorbt's order functions on fill bars, the result arrays);
- the event-loop reference (`benchmarks.reference`) and the minimal numba kernel
  (`benchmarks.kernel`), each given the engine's fill schedules (the fill rows
  `simulate_sets` returns) and the window's prices.

Final wealth must agree across the three simulations to 1e-9 (relative) on every set the
reference runs, or the benchmark fails: the speed-ups compare the same work.

Decisions are computed once per distinct set the way a sweep computes them:
`engine.core.schedule.decide_all` over the sets with an `engine.sweep.shared_signals.SignalMemo`
(sets that read the same parameter values share signals and measures): the strategy's
`decide_many` fast path when it has one, else the event walk per set. At 10,000
sets the 1,000 distinct schedules of the 1,000-set sample are cycled ten times for the
in-process simulation figures (the end-to-end child runs its own 10,000 sets).

The engine's and the kernel's simulations take well under a second per size, so a burst of
other work on the machine can double one of them: each is run `repeats` times, alternating
engine and kernel, and the median time of each is reported (the reference, a minute or more,
runs once).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchmarks import kernel
from benchmarks.market import Market, market_from_panel
from benchmarks.reference import simulate_reference
from benchmarks.report import Row, chunk_layout, signal_counts
from benchmarks.stages import stage_timers
from benchmarks.workload import Workload, workload
from engine.core.decisions import Decisions
from engine.core.panel import Panel
from engine.core.schedule import decide_all
from engine.core.signals import MissingInputWarning
from engine.core.simulate import Costs, SetResults, simulate_sets
from engine.runs.backtest import prepare
from engine.runs.strategy_loader import get_strategy
from engine.sweep.runner import make_plan
from engine.sweep.shared_signals import SignalMemo

TOLERANCE = 1e-9


class Disagreement(AssertionError):
    """Two simulations of the same schedule ended with different wealth."""


@dataclass(frozen=True)
class Fills:
    """Fill rows of many sets, as `SetResults` holds them (bars are window positions)."""

    bar: np.ndarray
    weights: np.ndarray  # rows x symbols
    offsets: np.ndarray  # sets + 1

    @property
    def sets(self) -> int:
        return len(self.offsets) - 1

    @classmethod
    def of(cls, result: SetResults) -> Fills:
        return cls(result.fill_bar.copy(), result.fill_weights.copy(), result.fill_offsets.copy())

    @classmethod
    def concat(cls, parts: Sequence[Fills]) -> Fills:
        offsets = [np.zeros(1, np.int64)]
        rows = 0
        for part in parts:
            offsets.append(part.offsets[1:] + rows)
            rows += len(part.bar)
        return cls(
            np.concatenate([p.bar for p in parts]),
            np.vstack([p.weights for p in parts]),
            np.concatenate(offsets),
        )

    def head(self, sets: int) -> Fills:
        end = int(self.offsets[sets])
        return Fills(self.bar[:end], self.weights[:end], self.offsets[: sets + 1])

    def frames(self, market: Market, symbols: Sequence[str]) -> list[pd.DataFrame]:
        """One fill schedule per set (fill date x symbol), as `engine.core.simulate.fill_schedule`
        gives it: what the event-loop reference reads."""
        out = []
        for s in range(self.sets):
            rows = slice(int(self.offsets[s]), int(self.offsets[s + 1]))
            out.append(
                pd.DataFrame(
                    self.weights[rows],
                    index=pd.DatetimeIndex(market.dates[self.bar[rows]], name="date"),
                    columns=list(symbols),
                )
            )
        return out


def wealth(result: SetResults) -> np.ndarray:
    """Wealth as sets x bars, whichever way `SetResults.value` is laid out (it moved from
    bars x sets to sets x bars while the engine's kernel path was reworked)."""
    value, bars = result.value, len(result.index)
    sets = len(result.fill_offsets) - 1
    if value.shape == (sets, bars):
        return value
    if value.shape == (bars, sets):
        return value.T
    raise ValueError(f"SetResults.value has shape {value.shape} for {sets} sets x {bars} bars")


def select(decisions: Decisions, sets: np.ndarray) -> Decisions:
    """The decision rows of `sets` (indices, repeats allowed), in that order."""
    counts = np.diff(decisions.offsets)[sets]
    starts = decisions.offsets[:-1][sets]
    offsets = np.r_[0, np.cumsum(counts)].astype(np.int64)
    rows = np.repeat(starts - offsets[:-1], counts) + np.arange(offsets[-1])
    return Decisions(decisions.symbols, decisions.bar[rows], decisions.weights[rows], offsets)


@dataclass
class Prepared:
    panel: Panel
    market: Market
    decisions: Decisions  # the distinct sets' decisions
    costs: Costs
    chunk_size: int
    seconds: dict[str, float]
    signal_keys: int

    @property
    def distinct(self) -> int:
        return self.decisions.sets

    def chunks(self, sets: int) -> list[Decisions]:
        """The first `sets` of the distinct sets cycled, in chunks of the sweep's size."""
        order = np.arange(sets) % self.distinct
        return [
            select(self.decisions, order[i : i + self.chunk_size])
            for i in range(0, sets, self.chunk_size)
        ]


def prepare_workload(load: Workload, distinct: int) -> Prepared:
    """The distinct sets' decisions, as a sweep computes them (signals shared, decide_all)."""
    _, panel = prepare(load.base)
    plan = make_plan(load.spec(distinct), load.base)
    cls = get_strategy(load.base.strategy)
    strategies = [cls(cls.Params(**params)) for params in plan.sets]
    universes = {tuple(s.universe()) for s in strategies}
    if len(universes) != 1:
        raise ValueError(f"the workload's sets trade {len(universes)} universes, expected one")
    memo = SignalMemo(panel, budget_mb=float("inf"))  # setup, not timed against anything
    with warnings.catch_warnings(), stage_timers() as stages:
        warnings.simplefilter("ignore", MissingInputWarning)
        decisions = decide_all(strategies, panel, load.base.leverage_cap, memo)
    costs = Costs(
        load.base.costs.fees_bps, load.base.costs.slippage_bps, load.base.costs.borrow_bps
    )
    assert panel.window_start is not None
    market = market_from_panel(panel, decisions.symbols, panel.window_start)
    return Prepared(
        panel,
        market,
        decisions,
        costs,
        plan.chunk_size,
        {k: stages.seconds.get(k, 0.0) for k in ("signals", "decisions")},
        signal_counts({"calls": stages.calls_by})[1],
    )


def engine_simulation(prep: Prepared, chunks: Sequence[Decisions]) -> dict[str, Any]:
    """`simulate_sets` chunk by chunk, as the sweep calls it: time, stages, final wealth and
    the fill rows it simulated (what the reference and the kernel are given)."""
    finals, fills = [], []
    with stage_timers() as stages:
        began = time.perf_counter()
        for chunk in chunks:
            result = simulate_sets(prep.panel, chunk, prep.costs, start=prep.panel.window_start)
            finals.append(wealth(result)[:, -1].copy())
            fills.append(Fills.of(result))
            del result
        seconds = time.perf_counter() - began
    return {
        "seconds": seconds,
        "stages": stages.breakdown(),
        "final": np.concatenate(finals),
        "fills": Fills.concat(fills),
    }


def kernel_simulation(prep: Prepared, fills: Fills) -> dict[str, Any]:
    """The numba kernel on the same fill rows, in chunks of the sweep's size."""
    prep_seconds, run_seconds, finals = 0.0, 0.0, []
    for i in range(0, fills.sets, prep.chunk_size):
        lo, hi = i, min(i + prep.chunk_size, fills.sets)
        rows = slice(int(fills.offsets[lo]), int(fills.offsets[hi]))
        began = time.perf_counter()
        inputs = kernel.prepare_arrays(
            prep.market,
            fills.bar[rows],
            fills.weights[rows],
            fills.offsets[lo : hi + 1] - fills.offsets[lo],
            prep.costs,
        )
        mid = time.perf_counter()
        wealth = kernel.run(inputs)
        run_seconds += time.perf_counter() - mid
        prep_seconds += mid - began
        finals.append(wealth[-1].copy())
    return {
        "seconds": prep_seconds + run_seconds,
        "compute_seconds": run_seconds,
        "prepare_seconds": prep_seconds,
        "final": np.concatenate(finals),
    }


def reference_simulation(prep: Prepared, fills: Fills) -> dict[str, Any]:
    frames = fills.frames(prep.market, prep.decisions.symbols)  # not timed: its input
    began = time.perf_counter()
    finals = [simulate_reference(prep.market, f, prep.costs)[-1] for f in frames]
    return {"seconds": time.perf_counter() - began, "final": np.asarray(finals)}


def check_agreement(name: str, got: np.ndarray, want: np.ndarray) -> float:
    """Largest relative difference of final wealth; raises past TOLERANCE."""
    scale = np.maximum(np.abs(want), 1.0)
    worst = float(np.max(np.abs(got - want) / scale)) if len(want) else 0.0
    if not worst <= TOLERANCE:
        raise Disagreement(f"{name} disagrees with engine.core.simulate: {worst:.3g} > {TOLERANCE}")
    return worst


def warm_up(prep: Prepared) -> None:
    """Load (or compile) the engine's and the kernel's numba code and build the panel's
    shared price table before any clock runs, as a sweep child's warm-up chunk does."""
    eng = engine_simulation(prep, prep.chunks(2))
    kernel_simulation(prep, eng["fills"])


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median time (the upper one of an even count)."""
    return sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]


def measure_size(
    prep: Prepared,
    sets: int,
    reference_cap: int,
    log: Callable[[str], None],
    reference_memo: dict[int, dict[str, Any]] | None = None,
    repeats: int = 1,
) -> dict:
    """All three simulations of `sets` sets; the reference on at most `reference_cap` of them.

    Sets are a prefix of the same cycle of schedules at every size, so a reference result
    for the same number of sets is reused from `reference_memo`.
    """
    chunks = prep.chunks(sets)
    log(f"  {sets} sets: engine.simulate_sets and the numba kernel, {repeats} times each ...")
    engine_runs, kernel_runs = [], []
    for _ in range(repeats):
        engine_runs.append(engine_simulation(prep, chunks))
        fills = engine_runs[-1].pop("fills")
        kernel_runs.append(kernel_simulation(prep, fills))
    for runs in (engine_runs, kernel_runs):
        if any(not np.array_equal(run["final"], runs[0]["final"]) for run in runs[1:]):
            raise Disagreement("a repeated simulation ended with another final wealth")
    eng, ker = _median_run(engine_runs), _median_run(kernel_runs)
    eng["all_seconds"] = [run["seconds"] for run in engine_runs]
    ker["all_seconds"] = [run["seconds"] for run in kernel_runs]
    ref_sets = min(sets, reference_cap)
    memo = reference_memo if reference_memo is not None else {}
    if ref_sets not in memo:
        log(f"  {sets} sets: event-loop reference on {ref_sets} ...")
        memo[ref_sets] = reference_simulation(prep, fills.head(ref_sets))
    ref = memo[ref_sets]
    agreement = {
        "reference_vs_engine": check_agreement("reference", ref["final"], eng["final"][:ref_sets]),
        "kernel_vs_engine": check_agreement("kernel", ker["final"], eng["final"]),
    }
    return {
        "sets": sets,
        "chunks": len(chunks),
        "distinct_schedules": min(sets, prep.distinct),
        "fill_rows": len(fills.bar),
        "engine": {k: v for k, v in eng.items() if k != "final"},
        "kernel": {k: v for k, v in ker.items() if k != "final"},
        "reference": {"seconds": ref["seconds"], "sets": ref_sets},
        "agreement_max_rel_diff": agreement,
        "final_wealth_median": float(np.median(eng["final"])),
    }


# --- rows -------------------------------------------------------------------------------


def inprocess(ctx) -> dict[str, Any]:
    """The in-process simulation figures at every size (shared by `sweep` and `limit`)."""
    if "inprocess" not in ctx.shared:
        load = workload(force_synthetic=ctx.synthetic)
        ctx.log(f"  decisions of {ctx.sizes.distinct:,} distinct sets ({load.data}) ...")
        prep = prepare_workload(load, ctx.sizes.distinct)
        warm_up(prep)
        memo: dict[int, dict[str, Any]] = {}
        by_size = {
            n: measure_size(prep, n, ctx.sizes.reference_cap, ctx.log, memo, ctx.sizes.repeats)
            for n in ctx.sizes.sweep_sets
        }
        result = {
            "data": load.data,
            "bars": prep.market.bars,
            "window": [str(prep.market.dates[0].date()), str(prep.market.dates[-1].date())],
            "instruments": [*prep.market.symbols, "CASH"],
            "chunk_size": prep.chunk_size,
            "distinct_sets": prep.distinct,
            "signal_computations": prep.signal_keys,
            "repeats": ctx.sizes.repeats,
            "decision_seconds": prep.seconds,
            "sizes": by_size,
        }
        ctx.shared["inprocess"] = result
        ctx.details["simulation"] = result
    return ctx.shared["inprocess"]


def _largest_child(ctx, sets: int) -> dict:
    largest = sets == max(ctx.sizes.sweep_sets)
    return ctx.sweep_child(sets, time_cap=ctx.sizes.largest_cap_s if largest else None)


def _repeats(child: dict) -> str:
    times = child.get("repeat_seconds", [])
    rounds = len(child.get("round_seconds", []))
    each = f", each the median of {rounds} sweeps in it" if rounds > 1 else ""
    if len(times) < 2:
        return each[2:]
    return (
        f"median of {len(times)} fresh processes ({', '.join(f'{t:.2f}' for t in times)} s){each}"
    )


def _partial(child: dict) -> str:
    if child["complete"]:
        return ""
    return (
        f"measured on the first {child['chunks_done']} of {child['chunks']} chunks "
        f"({child['sets_done']:,} sets, time cap)"
    )


def _signal_note(child: dict) -> str:
    """How much signal work the sets shared (the memo's calls against the computations)."""
    asked, frames, measures = signal_counts(child)
    if not asked:
        return ""
    return (
        f"signals asked for {asked:,} times, {frames:,} signals and {measures:,} measures computed"
    )


def run_sweep(ctx) -> list[Row]:
    sim = inprocess(ctx)
    rows: list[Row] = []
    children = {}
    for n in ctx.sizes.sweep_sets:
        size = sim["sizes"][n]
        ref = size["reference"]
        ref_rate = ref["sets"] / ref["seconds"]
        ref_note = f"reference run on {ref['sets']:,} of the sets (its per-set cost is flat)"
        child = children[n] = _largest_child(ctx, n)
        rate = child["sets_per_second"]
        partial = _partial(child)
        rows.append(
            Row(
                "1 sweep",
                f"{n:,} sets end to end (playbook sweep, 1 process)",
                rate,
                "sets/s",
                ref_rate,
                "event-loop reference",
                rate / ref_rate,
                "x",
                ">= 100x",
                rate / ref_rate >= 100,
                "; ".join(
                    x
                    for x in (
                        partial,
                        _repeats(child),
                        chunk_layout(child),
                        _signal_note(child),
                        ref_note,
                    )
                    if x
                ),
                {"child": child},
            )
        )
        sim_rate = n / size["engine"]["seconds"]
        cycled = (
            f"{size['distinct_schedules']:,} distinct schedules cycled"
            if size["distinct_schedules"] < n
            else ""
        )
        rows.append(
            Row(
                "1 sweep",
                f"{n:,} sets, simulation only (engine.simulate_sets per chunk)",
                sim_rate,
                "sets/s",
                ref_rate,
                "event-loop reference",
                sim_rate / ref_rate,
                "x",
                ">= 100x",
                sim_rate / ref_rate >= 100,
                "; ".join(
                    x
                    for x in (
                        cycled,
                        f"median of {sim['repeats']} runs",
                        "same fills and prices as the reference",
                    )
                    if x
                ),
            )
        )
    largest = max(ctx.sizes.sweep_sets)
    child = children[largest]
    seconds = child["estimated_seconds_all"]
    rows.append(
        Row(
            "1 sweep",
            f"{largest:,} sets, wall time in 1 process",
            seconds,
            "s",
            target="< 20 s on 2 cores",
            met=seconds < 20 if child["complete"] else (False if seconds > 40 else None),
            note=(
                "EXTRAPOLATED from the measured rate: " + _partial(child)
                if not child["complete"]
                else "measured"
            )
            + (f", {_repeats(child)}" if _repeats(child) else "")
            + f" (steady state; the process's start-up, panel and 2-set warm-up chunk took "
            f"{child['startup_seconds'] + child['warmup_seconds']:.1f} s before the clock)"
            + "; 2 cores: see the profile rows (2 shards side by side)",
        )
    )
    worst = max(s["agreement_max_rel_diff"]["reference_vs_engine"] for s in sim["sizes"].values())
    checked = max(s["reference"]["sets"] for s in sim["sizes"].values())
    rows.append(
        Row(
            "1 sweep",
            f"final wealth, reference vs engine (max rel. diff, {checked:,} sets)",
            worst,
            "",
            target="<= 1e-9",
            met=worst <= TOLERANCE,
            note="asserted: the benchmark fails if it is larger",
        )
    )
    return rows


def run_limit(ctx) -> list[Row]:
    sim = inprocess(ctx)
    rows: list[Row] = []
    for n in ctx.sizes.sweep_sets:
        size = sim["sizes"][n]
        engine_s, stages = size["engine"]["seconds"], size["engine"]["stages"]
        kernel_s, kernel_all = size["kernel"]["compute_seconds"], size["kernel"]["seconds"]
        inner = stages["kernel"]
        outside = engine_s - inner
        rows.append(
            Row(
                "2 limit",
                f"{n:,} sets: engine.simulate_sets against the numba kernel",
                n / engine_s,
                "sets/s",
                n / kernel_s,
                "numba kernel",
                engine_s / kernel_s,
                "x slower",
                "<= 5x slower",
                engine_s / kernel_s <= 5,
                f"median of {sim['repeats']} runs each; "
                f"the engine's kernel (simulate_nb) alone {inner / kernel_s:.2f}x the minimal "
                f"kernel; per set {engine_s / n * 1e3:.3f} ms = simulate_nb "
                f"{inner / n * 1e3:.3f} + fills {stages['fills'] / n * 1e3:.3f} + price tables "
                f"{stages['price tables'] / n * 1e3:.3f} (cached per panel) + rest "
                f"{(outside - stages['fills'] - stages['price tables']) / n * 1e3:.3f}",
            )
        )
        rows.append(
            Row(
                "2 limit",
                f"{n:,} sets: engine.simulate_sets against kernel + its array preparation",
                n / engine_s,
                "sets/s",
                n / kernel_all,
                "kernel incl. prep",
                engine_s / kernel_all,
                "x slower",
                "<= 5x slower",
                engine_s / kernel_all <= 5,
                "prep: instrument prices and target-percent rows from the fill rows (numpy), "
                f"{size['kernel']['prepare_seconds'] / n * 1e3:.3f} ms per set; the engine's "
                "figure includes its own fill rows from the decisions",
            )
        )
    worst = max(s["agreement_max_rel_diff"]["kernel_vs_engine"] for s in sim["sizes"].values())
    rows.append(
        Row(
            "2 limit",
            f"final wealth, kernel vs engine (max rel. diff, {max(ctx.sizes.sweep_sets):,} sets)",
            worst,
            "",
            target="<= 1e-9",
            met=worst <= TOLERANCE,
            note="asserted: the benchmark fails if it is larger",
        )
    )
    return rows

"""Where a sweep's time goes, and what a second core buys (measured, not guessed).

- Stages of the 1,000-set sweep end to end (`benchmarks.stages`: signals, decisions, fills,
  price tables, the kernel, the rest of simulate_sets, metrics, writing), in ms per parameter
  set, each exclusive of the stages nested in it.
- cProfile of one chunk: the functions with the most time of their own (into the JSON).
- Two cores: the two shards of the 10,000-set sweep (`--shard 1/2`, `2/2`) side by side in
  two fresh processes; the wall time is the slower shard's (measured when both complete,
  else extrapolated from the combined rate and labelled so), against the whole sweep in one
  process. Both take a few seconds, so a burst of other work on the machine moves them a
  lot: three rounds of one process then two shards, and the median of each (one round with
  `--quick`). Each round starts by timing a plain CPU loop in one process and in two at once:
  the gain two processes can get at that moment (2x only when nothing else holds a core).
  When the largest sweep is a single chunk (`--quick`), they run at a chunk size fixed to the
  smallest size, so there is work for both shards.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import subprocess
import sys
import warnings

from benchmarks.report import Row, chunk_layout
from benchmarks.runner import REPO, run_child

ROUNDS = 3


def run(ctx) -> list[Row]:
    rows: list[Row] = []
    sizes = ctx.sizes
    largest = max(sizes.sweep_sets)
    complete = [n for n in sizes.sweep_sets if n != largest] or [largest]
    n = 1_000 if 1_000 in complete else max(complete)
    child = ctx.sweep_child(n)
    total = sum(child["stages"].values())
    per_set = {k: v / child["sets_done"] * 1e3 for k, v in child["stages"].items()}
    for stage, ms in per_set.items():
        rows.append(
            Row(
                "profile",
                f"{n:,}-set sweep: {stage}",
                ms,
                "ms/set",
                note=f"{child['stages'][stage] / total:.0%} of the sweep's "
                f"{child['seconds']:.2f} s",
            )
        )
    ctx.details["profile_stages_ms_per_set"] = per_set
    ctx.details["cprofile_top"] = cprofile_chunk(ctx, 30 if ctx.quick else 1_000)

    single = ctx.sweep_child(largest, time_cap=sizes.largest_cap_s)
    chunk_size, how = None, ""
    if single["chunks"] < 2:  # a smoke run: one chunk leaves a second shard nothing to do
        chunk_size = min(sizes.sweep_sets)
        single = ctx.sweep_child(largest, time_cap=sizes.largest_cap_s, chunk_size=chunk_size)
        how = f"chunk size fixed to {chunk_size:,} (one chunk at the budget's); "
    # a few rounds of 1 process then 2 shards: a burst of other work hits both alike
    singles, pairs, spare = [], [], []
    for round_ in range(1 if ctx.quick else ROUNDS):
        spare.append(two_core_gain())
        if round_:
            ctx.log(f"  round {round_ + 1}: {largest:,} sets in 1 process ...")
            args = ctx.child_args(largest, time_cap=sizes.largest_cap_s, chunk_size=chunk_size)
            singles.append(run_child(args))
        else:
            singles.append(single)
        pairs.append(two_shards(ctx, largest, sizes.largest_cap_s, chunk_size))
    done = all(c["complete"] for pair in pairs for c in pair)
    walls = sorted(
        (
            max(c["seconds"] for c in pair)
            if done
            else largest / sum(c["sets_per_second"] for c in pair),
            k,
        )
        for k, pair in enumerate(pairs)
    )
    seconds, middle = walls[len(walls) // 2]
    pair = pairs[middle]
    one = sorted(c["estimated_seconds_all"] for c in singles)[len(singles) // 2]
    split = " + ".join(str(len(range(k, single["chunks"], 2))) for k in (0, 1))
    rows.append(
        Row(
            "profile",
            f"{largest:,} sets on 2 cores (2 shards side by side)",
            seconds,
            "s",
            one,
            "1 process",
            one / seconds,
            "x faster",
            "< 20 s",
            seconds < 20 if done else (False if seconds > 40 else None),
            (
                "measured: the slower shard's steady-state time"
                if done
                else "EXTRAPOLATED from the combined rate"
            )
            + f", median of {len(pairs)} rounds of 1 process then 2 shards (2 shards: "
            + ", ".join(f"{w:.2f}" for w, _ in walls)
            + " s; 1 process: "
            + ", ".join(f"{c['estimated_seconds_all']:.2f}" for c in singles)
            + " s); a plain CPU loop got "
            + ", ".join(f"{g:.2f}x" for g in spare)
            + " from 2 processes over 1 at the start of each round (2.00x: two free cores); "
            + f"{how}chunks split {split} of {chunk_layout(single)}; "
            + "; ".join(f"shard {c['shard']}: {_span(c)} in {c['seconds']:.1f} s" for c in pair),
            {"shards": pairs, "singles": singles, "cpu_loop_gain": spare},
        )
    )
    return rows


LOOP = (
    "import time; t = time.perf_counter(); sum(range(15_000_000)); print(time.perf_counter() - t)"
)


def two_core_gain() -> float:
    """What two processes gain over one right now: a CPU-bound loop alone, then two at once
    (2.0 when both cores are free; other work on the machine takes its share)."""

    def start() -> subprocess.Popen:
        command = [sys.executable, "-c", LOOP]
        return subprocess.Popen(command, stdout=subprocess.PIPE, text=True)

    alone = float(start().communicate()[0])
    pair = [start(), start()]
    both = max(float(p.communicate()[0]) for p in pair)
    return 2 * alone / both


def _span(child: dict) -> str:
    if child["complete"]:
        return f"all {child['sets_done']:,} of its sets"
    return f"first {child['chunks_done']} chunks ({child['sets_done']:,} sets, time cap)"


def two_shards(
    ctx, sets: int, cap: float | None, chunk_size: int | None = None, workload: str = "hayes-pivot"
) -> list[dict]:
    """Shards 1/2 and 2/2 in two processes at once."""
    ctx.log(f"  2 shards of {sets:,} sets side by side ...")
    chosen = [] if workload == "hayes-pivot" else ["--workload", workload]
    procs = [
        subprocess.Popen(
            [*ctx.child_args(sets, time_cap=cap, shard=f"{k}/2", chunk_size=chunk_size), *chosen],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in (1, 2)
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"shard child exited {proc.returncode}: {stderr.strip()[-500:]}")
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


def cprofile_chunk(ctx, sets: int) -> list[dict]:
    """One chunk of the sweep under cProfile: the 25 functions with most time of their own."""
    from benchmarks.workload import workload
    from engine.core.signals import MissingInputWarning
    from engine.sweep.runner import make_plan, run_chunk

    ctx.log(f"  cProfile of a {sets}-set chunk ...")
    load = workload(force_synthetic=ctx.synthetic)
    plan = make_plan(load.spec(sets), load.base)
    base_json, spec_json = plan.base.canonical_json(), plan.spec.model_dump_json()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        run_chunk(base_json, spec_json, plan.sets[:2])
        profiler = cProfile.Profile()
        profiler.enable()
        run_chunk(base_json, spec_json, plan.sets)
        profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    top = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:25]  # type: ignore[attr-defined]
    return [
        {
            "function": f"{path.replace(str(REPO) + '/', '')}:{line}({name})",
            "calls": calls,
            "own_seconds": own,
            "cumulative_seconds": cumulative,
        }
        for (path, line, name), (_, calls, own, cumulative, _) in top
    ]

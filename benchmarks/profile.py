"""Where a sweep's time goes, and what the proposed fixes gain (measured, not guessed).

- Stages of the 1,000-set sweep (`benchmarks.stages`: signals, event walk, simulation,
  metrics, writing), in ms per parameter set.
- cProfile of one chunk: the functions with the most time of their own (into the JSON).
- The prototype (`benchmarks.prototypes`: the walk with what every set shares over one panel
  computed once) through the engine's own sweep, on the same sets as the engine; its rows
  are checked equal to the engine's.
- Two cores: two shards of the 10,000-set sweep (`--shard 1/2`, `2/2`) side by side, the
  engine and the prototype; 10,000 sets / combined rate = the projected wall time.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import subprocess
import warnings

from benchmarks.report import Row
from benchmarks.runner import REPO


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
                note=f"{child['stages'][stage] / total:.0%} of the sweep",
            )
        )
    ctx.details["profile_stages_ms_per_set"] = per_set
    ctx.details["cprofile_top"] = cprofile_chunk(ctx, 30 if ctx.quick else 100)

    cap = sizes.largest_cap_s * (2 / 3)
    engine = ctx.sweep_child(largest, time_cap=sizes.largest_cap_s)
    proto = ctx.sweep_child(largest, time_cap=cap, prototype=True)
    rows.append(
        Row(
            "profile",
            f"prototype: per-panel facts in the walk ({largest:,}-set sweep)",
            proto["sets_per_second"],
            "sets/s",
            engine["sets_per_second"],
            "engine, same sets",
            proto["sets_per_second"] / engine["sets_per_second"],
            "x faster",
            note=f"rows of {proto['prototype_rows_checked']} sets checked equal to the engine's; "
            f"{_span(proto)}; signals {proto['stages']['signals'] / proto['sets_done'] * 1e3:.1f}"
            f" ms/set, event walk "
            f"{proto['stages']['event walk'] / proto['sets_done'] * 1e3:.1f} ms/set",
            extra={"child": proto},
        )
    )
    for label, prototype in (("engine", False), ("prototype", True)):
        if engine["chunks"] < 2:
            break  # one chunk: nothing for a second shard to do
        pair = two_shards(ctx, largest, cap, prototype)
        rate = sum(c["sets_per_second"] for c in pair)
        single = proto if prototype else engine
        rows.append(
            Row(
                "profile",
                f"{largest:,} sets on 2 cores ({label}, 2 shards side by side)",
                largest / rate,
                "s",
                largest / single["sets_per_second"],
                "1 process",
                single["sets_per_second"] and rate / single["sets_per_second"],
                "x faster",
                "< 20 s",
                largest / rate < 20,
                f"EXTRAPOLATED from the combined rate {rate:.1f} sets/s; "
                + "; ".join(f"shard {c['shard']}: {_span(c)}" for c in pair),
                {"shards": pair},
            )
        )
    if "simulation" in ctx.details:
        rows.append(projection(ctx, proto, largest))
    return rows


def _span(child: dict) -> str:
    if child["complete"]:
        return f"all {child['sets_done']:,} sets"
    return f"first {child['chunks_done']} of {child['chunks']} chunks ({child['sets_done']:,} sets)"


def two_shards(ctx, sets: int, cap: float, prototype: bool) -> list[dict]:
    """Shards 1/2 and 2/2 in two processes at once."""
    ctx.log(f"  2 shards of {sets:,} sets side by side{' (prototype)' if prototype else ''} ...")
    procs = [
        subprocess.Popen(
            ctx.child_args(sets, time_cap=cap, prototype=prototype, shard=f"{k}/2"),
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


def projection(ctx, proto: dict, sets: int) -> Row:
    """Prototype's measured per-set cost with its simulation replaced by the kernel's."""
    sim = ctx.details["simulation"]["sizes"][sets]
    done = proto["sets_done"]
    stages = {k: v / done for k, v in proto["stages"].items()}
    simulate = stages["fill schedule + arrays"] + stages["vectorbt"] + stages["simulate, rest"]
    kernel = sim["kernel"]["seconds"] / sets + sim["fill_schedule_seconds"] / sets
    per_set = sum(stages.values()) - simulate + kernel
    return Row(
        "profile",
        f"PROJECTION: prototype with the kernel as its simulation, {sets:,} sets, 1 process",
        sets * per_set,
        "s",
        note="arithmetic from measured parts, not a run: prototype "
        f"{sum(stages.values()) * 1e3:.1f} ms/set - simulation {simulate * 1e3:.1f} "
        "+ kernel with fill schedules "
        f"{kernel * 1e3:.2f}; metrics stay {stages['metrics'] * 1e3:.1f} ms/set",
    )


def cprofile_chunk(ctx, sets: int) -> list[dict]:
    """One chunk of the sweep under cProfile: the 25 functions with most time of their own."""
    from benchmarks.workload import workload
    from engine.signals import MissingInputWarning
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

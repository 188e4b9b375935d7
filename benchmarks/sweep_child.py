"""One sweep in a fresh process: its time, its stages and its peak memory, as JSON on stdout.

`python -m benchmarks.sweep_child --sets N [--bars-fraction F] [--time-cap S] [--shard K/N]
[--chunk-size C] [--synthetic] [--rounds R]`

Runs the benchmark workload's N-set sweep the way `playbook sweep` does (`make_plan`, then
`run_plan` writing chunk files into a temporary folder; the summary, DSR, PBO and heatmap are
left out). Before the clock starts it runs and writes a 2-set chunk, so numba's compiled
code, the panel and the parquet writer are loaded: the time is the steady-state sweep. Peak
memory is the process's high-water mark (VmHWM in /proc/self/status), read after each
chunk. With a time cap the sweep stops after the first chunk that ends past it and reports
how far it got (a safety net: the sizes are meant to complete). `--shard K/N` runs the
engine's shard K of N (as `playbook sweep --shard`), for running shards side by side.
`--chunk-size C` fixes the sets per chunk (the sweep file's `chunk_size`) instead of the
engine's memory-budget choice. `--rounds R` runs the sweep R times in this process, each into
a fresh folder, and reports the round with the median time (every round's in
`round_seconds`): a 100-set sweep takes ~50 ms, which one burst of other work on the machine
can double. The rounds do the same work: each starts with empty signal memos (it computes its
sets' signals and measures, as one sweep does); what carries over is the panel and its cash
returns, which the warm-up chunk built already. It runs in the settings `playbook` runs a
command in (`engine.cli.app.command_line_settings`: the GC's thresholds, declined optional
imports), so its figures are the command's: with Python's default GC thresholds the same
sweep ran 6-12% slower (full collections re-scanning the ~400k objects the imports made).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

STARTED = time.perf_counter()


def proc_status_mb(key: str) -> float:
    """A memory line of /proc/self/status (VmHWM, VmRSS) in MiB; NaN off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class _Stop(Exception):
    """The time cap was reached after a chunk."""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sweep_child")
    parser.add_argument("--sets", type=int, required=True)
    parser.add_argument("--bars-fraction", type=float, default=1.0)
    parser.add_argument("--time-cap", type=float, default=None, help="seconds")
    parser.add_argument("--shard", default=None, help="K/N")
    parser.add_argument("--chunk-size", type=int, default=None)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--workload", default="hayes-pivot", help="hayes-pivot or trend")
    parser.add_argument("--rounds", type=int, default=1, help="sweeps in this process")
    args = parser.parse_args(argv)
    shard = tuple(int(x) for x in args.shard.split("/")) if args.shard else None

    from benchmarks.workload import WORKLOADS
    from engine.runs.backtest import prepare
    from engine.sweep.runner import _write_atomically, make_plan, run_chunk

    load = WORKLOADS[args.workload](args.synthetic)
    _, panel = prepare(load.base)
    if args.bars_fraction < 1.0:
        load = load.with_bars(args.bars_fraction, panel.index)
        _, panel = prepare(load.base)
    bars = int((panel.index >= panel.window_start).sum())
    spec = load.spec(args.sets, chunk_size=args.chunk_size)
    plan = make_plan(spec, load.base, shard)  # type: ignore[arg-type]
    base_json, spec_json = plan.base.canonical_json(), plan.spec.model_dump_json()
    warm = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as scratch:  # numba code, the
        table = run_chunk(base_json, spec_json, plan.sets[:2])  # panel and the parquet
        _write_atomically(table, Path(scratch) / "warm.parquet")  # writer loaded
    ready = time.perf_counter()
    before = {"rss_mb": proc_status_mb("VmRSS"), "hwm_mb": proc_status_mb("VmHWM")}

    # each round on the warm panels with empty signal memos: a round that reused the signals
    # an earlier round computed would time less work than one sweep does
    rounds = [
        _sweep(dataclasses.replace(plan, panels=plan.panels.with_fresh_signals()), args.time_cap)
        for _ in range(max(1, args.rounds))
    ]
    per_chunk, seconds, stages = sorted(rounds, key=lambda r: r[1])[len(rounds) // 2]
    chunks = plan.chunks
    done_sets = sum(len(chunks[c["chunk"]]) for c in per_chunk)
    mine = sum(len(chunks[i]) for i in plan.mine())
    return {
        "sets": args.sets,
        "sets_done": done_sets,
        "complete": done_sets == mine,
        "shard": args.shard,
        "chunk_size": plan.chunk_size,
        "chunks": len(chunks),
        "chunks_done": len(per_chunk),
        "bars": bars,
        "panel_bars": len(panel.index),
        "window": [str(panel.window_start.date()), str(panel.index[-1].date())],
        "data": load.data,
        "seconds": seconds,
        "sets_per_second": done_sets / seconds if seconds > 0 else float("nan"),
        "estimated_seconds_all": mine * seconds / max(done_sets, 1),
        "startup_seconds": warm - STARTED,
        "warmup_seconds": ready - warm,
        "before": before,
        "per_chunk": per_chunk,
        "peak_rss_mb": proc_status_mb("VmHWM"),
        "stages": stages.breakdown(),
        "stage_calls": dict(stages.calls),
        "round_seconds": [r[1] for r in rounds],
        "calls": dict(stages.calls_by),
    }


def _sweep(plan, time_cap: float | None) -> tuple[list[dict], float, object]:
    """One timed sweep of the plan into a fresh folder: (per chunk, seconds, stage times)."""
    from benchmarks.stages import stage_timers
    from engine.sweep.runner import run_plan

    per_chunk: list[dict] = []
    start = time.perf_counter()

    def on_chunk(done: int, total: int, index: int) -> None:
        per_chunk.append(
            {
                "chunk": index,
                "seconds": time.perf_counter() - start,
                "rss_mb": proc_status_mb("VmRSS"),
                "hwm_mb": proc_status_mb("VmHWM"),
            }
        )
        if time_cap is not None and time.perf_counter() - start > time_cap:
            raise _Stop

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as out:
        with stage_timers() as stages, contextlib.suppress(_Stop):
            run_plan(plan, Path(out), on_chunk=on_chunk)
        seconds = time.perf_counter() - start
    return per_chunk, seconds, stages


if __name__ == "__main__":
    from engine.cli.app import command_line_settings

    with command_line_settings():  # the command's GC thresholds and declined imports
        result = main()
    sys.stdout.write(json.dumps(result) + "\n")

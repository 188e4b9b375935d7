"""`python -m benchmarks`: run the measurements, print the table, write the JSON.

    python -m benchmarks                      # everything (about 20 minutes on 2 quiet cores)
    python -m benchmarks --only rivals        # vectorbt, backtesting.py, bt; whole commands
    python -m benchmarks --quick              # small sizes (about 2 minutes)
    python -m benchmarks --only startup       # one measurement (repeat --only for more)
    python -m benchmarks --out /tmp/b.json    # somewhere else than results/latest.json
    python -m benchmarks --list               # the measurements

Every figure is set against a reference measured in the same run (an event-loop
simulation, a numba kernel, `python -c pass`, a warmed process, the smallest size), so the
ratios mean the same on any machine while the absolute numbers do not. Rows whose case
starts with WHOLE COMMAND time what a user types, from spawn to exit; every other sweep
figure is in-process (steady state after a warm-up chunk).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.report import Row, machine, rows_json, table, write_json

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "latest.json"


@dataclass(frozen=True)
class Sizes:
    sweep_sets: tuple[int, ...]  # measurement 1 (and 3)
    distinct: int  # distinct schedules for the in-process simulation figures
    reference_cap: int  # the event-loop reference runs at most this many sets per size
    largest_cap_s: float  # safety net: the largest sweep stops after the chunk ending past this
    scaling_sets: tuple[int, int, int]  # 1x, 2x, 4x parameter sets
    scaling_bars_sets: int  # sets for the bars curve
    scenario_paths: int
    scenario_budget_s: float
    repeats: int  # in-process engine and kernel simulations: the median of this many
    child_repeats: int  # sweep children: the median (by time) of this many fresh processes
    vbt_sets: tuple[int, ...] = (1_000,)  # vectorbt as usually called (measurement 7)
    rule_sets: int = 10_000  # the trend rule's sweep (7) and its whole command (4)
    btp_tries: int = 300  # backtesting.py's optimize: this many of the grid
    bt_sets: int = 10  # bt: this many sets of the grid
    trade_sets: int = 30  # sets whose backtesting.py trades are checked against playbook's


FULL = Sizes(
    (100, 1_000, 10_000), 1_000, 1_000, 300.0, (2_000, 4_000, 8_000), 2_000, 1_000, 240.0, 5, 3
)
QUICK = Sizes((20, 60), 60, 20, 30.0, (20, 40, 80), 20, 20, 60.0, 3, 1, (20,), 20, 6, 1, 4)


@dataclass
class Context:
    quick: bool
    synthetic: bool
    sizes: Sizes
    log: Callable[[str], None]
    shared: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)  # per measurement, into the JSON
    _children: dict[tuple, dict] = field(default_factory=dict)

    def sweep_child(
        self,
        sets: int,
        bars_fraction: float = 1.0,
        time_cap: float | None = None,
        shard: str | None = None,
        chunk_size: int | None = None,
        workload: str = "hayes-pivot",
    ) -> dict:
        """One sweep in a fresh process (memoized per run: measurements share them).

        A sweep's steady state takes a second or two, so it is run `child_repeats` times,
        each in its own fresh process, and the run with the median time is returned (with
        every run's time in `repeat_seconds`); a sweep of up to `ROUNDS_UP_TO` sets also runs
        `ROUNDS` times within each process (its median round).
        """
        key = (sets, bars_fraction, time_cap, shard, chunk_size, workload)
        if key not in self._children:
            repeats = self.sizes.child_repeats
            self.log(
                f"  sweep of {sets} sets in a fresh process"
                + (f", {bars_fraction:g} of the bars" if bars_fraction != 1 else "")
                + (f", shard {shard}" if shard else "")
                + (f", chunks of {chunk_size}" if chunk_size else "")
                + (f", {workload}" if workload != "hayes-pivot" else "")
                + (f" (x{repeats})" if repeats > 1 else "")
                + " ..."
            )
            args = self.child_args(sets, bars_fraction, time_cap, shard, chunk_size)
            if workload != "hayes-pivot":
                args += ["--workload", workload]
            runs = sorted((run_child(args) for _ in range(repeats)), key=lambda c: c["seconds"])
            median = runs[len(runs) // 2]
            self._children[key] = {**median, "repeat_seconds": [c["seconds"] for c in runs]}
        return self._children[key]

    def child_args(
        self,
        sets: int,
        bars_fraction: float = 1.0,
        time_cap: float | None = None,
        shard: str | None = None,
        chunk_size: int | None = None,
    ) -> list[str]:
        args = [sys.executable, "-m", "benchmarks.sweep_child", "--sets", str(sets)]
        if bars_fraction != 1.0:
            args += ["--bars-fraction", str(bars_fraction)]
        if time_cap is not None:
            args += ["--time-cap", str(time_cap)]
        if shard:
            args += ["--shard", shard]
        if chunk_size:
            args += ["--chunk-size", str(chunk_size)]
        if self.synthetic:
            args.append("--synthetic")
        if sets <= ROUNDS_UP_TO and time_cap is None and not shard:  # sub-second sweeps
            args += ["--rounds", str(ROUNDS)]
        return args


ROUNDS, ROUNDS_UP_TO = 5, 2_000  # a sweep of up to this many sets runs 5 times per process


class LoadSampler:
    """The 1-minute load average every few seconds: other work on the machine shows up here.

    This run itself adds about 1 (2 while two shards run side by side); a load well above
    that means something else shared the cores and the absolute timings suffer.
    """

    def __init__(self, every: float = 5.0) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)

    def _run(self, every: float) -> None:
        while not self._stop.is_set():
            self.samples.append(os.getloadavg()[0])
            self._stop.wait(every)

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        if not self.samples:
            return {}
        return {"mean": sum(self.samples) / len(self.samples), "max": max(self.samples)}


def git_state() -> dict[str, Any]:
    """The commit measured, and the files that differed from it in the working tree."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "uncommitted": [line for line in git("status", "--porcelain").splitlines() if line],
    }


def run_child(args: list[str]) -> dict:
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(args[1:])} exited {done.returncode}: " + " / ".join(tail))
    return json.loads(done.stdout.strip().splitlines()[-1])


def measurements() -> dict[str, tuple[str, Callable[[Context], list[Row]]]]:
    from benchmarks import cli_timing, memory, profile, rivals, scaling, scenario, throughput

    return {
        "startup": (
            "playbook --help against python -c pass (the cheapest)",
            cli_timing.run_startup,
        ),
        "sweep": ("1: sweep throughput against the event-loop reference", throughput.run_sweep),
        "limit": ("2: sweep simulation against a minimal numba kernel", throughput.run_limit),
        "memory": ("3: peak RSS of sweeps in fresh processes", memory.run),
        "cli": ("4: playbook run end to end, cold and warm numba cache", cli_timing.run_cli),
        "scenario": ("5: the scenario engine, 1,000 paths of one playbook", scenario.run),
        "scaling": ("6: time and memory at 1x, 2x, 4x bars and parameter sets", scaling.run),
        "profile": ("where a sweep's time goes, and the sweep on 2 cores", profile.run),
        "rivals": (
            "7: vectorbt as usually called, backtesting.py, bt; whole command vs in-process",
            rivals.run,
        ),
    }


def main(argv: list[str] | None = None) -> int:
    registry = measurements()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="playbook's speed and memory, each against a reference from the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument(
        "--only", action="append", choices=sorted(registry), metavar="NAME", help="run only NAME"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON output file")
    parser.add_argument(
        "--synthetic", action="store_true", help="use the synthetic market even if real data exists"
    )
    parser.add_argument("--list", action="store_true", help="list the measurements and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name, (what, _) in registry.items():
            print(f"{name:<9} {what}")
        return 0

    began = time.perf_counter()
    measured_tree = git_state()  # at the start: other work may land while this runs

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:7.1f}s] {message}", file=sys.stderr, flush=True)

    ctx = Context(args.quick, args.synthetic, QUICK if args.quick else FULL, log)
    chosen = args.only or list(registry)
    rows: list[Row] = []
    failures: dict[str, str] = {}
    loads: dict[str, dict[str, float]] = {}
    for name in registry:
        if name not in chosen:
            continue
        log(f"{name}: {registry[name][0]}")
        with LoadSampler() as load:
            try:
                rows += registry[name][1](ctx)
            except Exception as exc:  # a failed measurement is reported, the others still run
                failures[name] = f"{type(exc).__name__}: {exc}"
                log(f"{name} FAILED: {failures[name]}")
        loads[name] = load.summary()
    load_line = "machine load (1-min average, mean/max) per measurement: " + ", ".join(
        f"{name} {v['mean']:.1f}/{v['max']:.1f}" for name, v in loads.items() if v
    )
    text = "\n\n".join([table(rows), *ctx.shared.get("extra_text", []), load_line])
    print(text)
    for name, problem in failures.items():
        print(f"FAILED {name}: {problem}")
    payload = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(
            ["python -m benchmarks", *(argv if argv is not None else sys.argv[1:])]
        ),
        "quick": args.quick,
        "seconds": round(time.perf_counter() - began, 1),
        "machine": machine(),
        "git": measured_tree,
        "measurements": chosen,
        "rows": rows_json(rows),
        "details": ctx.details,
        "failures": failures,
        "load_average": loads,
        "table": text,
    }
    write_json(args.out, payload)
    print(f"\nwrote {args.out}")
    return 1 if failures else 0

"""backtesting.py or bt on the trend rule, in a fresh process: JSON on stdout.

`python -m benchmarks.rival_child {backtesting,bt,trades,bt-trades} --sets N
[--processes P] [--window-only] [--synthetic]`

`backtesting`: its `optimize` over N of the grid, given QQQ's history (the rule playbook
runs) or, with `--window-only`, the window's bars only. `bt`: N sets of `bt.run`. `trades`:
how many of N sets backtesting.py trades on playbook's days (`benchmarks.rivals.same_trades`);
`bt-trades`: the same for bt (`bt_same_trades`).
A fresh process, as a user's script is: backtesting.py's `optimize` forks a pool of workers,
which is not safe from a process that has started threads (the benchmark runner's load
sampler, numba's and pyarrow's pools).
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rival_child")
    parser.add_argument("library", choices=["backtesting", "bt", "trades", "bt-trades"])
    parser.add_argument("--sets", type=int, required=True)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument(
        "--processes", type=int, help="backtesting.py's optimize pool (default: one per core)"
    )
    parser.add_argument(
        "--window-only", action="store_true", help="backtesting.py given the window's bars only"
    )
    args = parser.parse_args(argv)

    from benchmarks.rivals import (
        backtesting_optimize,
        bt_run,
        bt_same_trades,
        rule_history,
        same_trades,
    )
    from benchmarks.workload import trend_workload

    load = trend_workload(args.synthetic)
    history = rule_history(load)
    if args.library == "backtesting":
        same_history = not args.window_only
        return backtesting_optimize(history, load, args.sets, args.processes, same_history)
    if args.library == "trades":
        return same_trades(history, load, args.sets)
    if args.library == "bt-trades":
        return bt_same_trades(history, load, args.sets)
    return bt_run(history, load, args.sets)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()) + "\n")

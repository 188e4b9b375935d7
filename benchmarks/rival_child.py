"""backtesting.py or bt on the trend rule, in a fresh process: JSON on stdout.

`python -m benchmarks.rival_child {backtesting,bt} --sets N [--processes P] [--synthetic]`

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
    parser.add_argument("library", choices=["backtesting", "bt"])
    parser.add_argument("--sets", type=int, required=True)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument(
        "--processes", type=int, help="backtesting.py's optimize pool (default: one per core)"
    )
    args = parser.parse_args(argv)

    from benchmarks.rivals import backtesting_optimize, bt_run, qqq_close
    from benchmarks.workload import trend_workload

    load = trend_workload(args.synthetic)
    close = qqq_close(load)
    if args.library == "backtesting":
        return backtesting_optimize(close, load, args.sets, args.processes)
    return bt_run(close, load, args.sets)


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()) + "\n")

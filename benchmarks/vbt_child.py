"""vectorbt as a user usually calls it, on the sweep's own fills, in a fresh process.

`python -m benchmarks.vbt_child --sets N [--synthetic]` prints one JSON line.

The N sets of the benchmark workload (the same seeded sample `playbook sweep` runs) are
decided and simulated by the engine first (not timed: that gives the fills and the engine's
final wealth). Then, timed: one `vbt.Portfolio.from_orders` call with every set as a column
group (its instruments as columns: the symbols and CASH, whose price accrues the cash rate),
`size_type="targetpercent"` on the fill bars, the same fees and slippage, `cash_sharing=True`
per group and `call_seq="auto"`, followed by vectorbt's own `final_value`, `sharpe_ratio` and
`max_drawdown` per group: what a user ranks the sets by. Building the wide close and size
frames is timed separately. Peak memory is the process's high-water mark (VmHWM).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import numpy as np


def wide_arrays(inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(close, size, fees, slippage, group per column) with the sets side by side."""
    width, sets = inputs.close.shape[1], inputs.sets
    close = np.tile(inputs.close, (1, sets))
    size = np.full(close.shape, np.nan)
    for s in range(sets):
        rows = slice(int(inputs.offsets[s]), int(inputs.offsets[s + 1]))
        size[inputs.fill_bar[rows], s * width : (s + 1) * width] = inputs.fill_size[rows]
    fees = np.tile(inputs.fee, sets)[None, :]
    slippage = np.tile(inputs.slippage, sets)[None, :]
    return close, size, fees, slippage, np.repeat(np.arange(sets), width)


def head(inputs, sets: int):
    """The first `sets` sets of kernel inputs (the warm-up call's)."""
    end = int(inputs.offsets[sets])
    return dataclasses.replace(
        inputs,
        fill_bar=inputs.fill_bar[:end],
        fill_size=inputs.fill_size[:end],
        offsets=inputs.offsets[: sets + 1],
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.vbt_child")
    parser.add_argument("--sets", type=int, required=True)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args(argv)

    import pandas as pd
    import vectorbt as vbt

    from benchmarks import kernel
    from benchmarks.sweep_child import proc_status_mb
    from benchmarks.throughput import engine_simulation, prepare_workload
    from benchmarks.workload import workload

    load = workload(force_synthetic=args.synthetic)
    prep = prepare_workload(load, args.sets)
    engine = engine_simulation(prep, prep.chunks(args.sets))
    fills = engine["fills"]
    inputs = kernel.prepare_arrays(prep.market, fills.bar, fills.weights, fills.offsets, prep.costs)
    del engine["fills"], fills

    def as_usual(close, size, fees, slippage, groups):
        portfolio = vbt.Portfolio.from_orders(
            close=pd.DataFrame(close, index=prep.market.dates),
            size=size,
            size_type="targetpercent",
            fees=fees,
            slippage=slippage,
            init_cash=1.0,
            cash_sharing=True,
            group_by=groups,
            call_seq="auto",
            freq="1D",
        )
        final = portfolio.final_value().to_numpy()
        return final, portfolio.sharpe_ratio().to_numpy(), portfolio.max_drawdown().to_numpy()

    warm = time.perf_counter()  # vectorbt's numba functions compile on the first call
    as_usual(*wide_arrays(head(inputs, 2)))
    compile_seconds = time.perf_counter() - warm
    before = proc_status_mb("VmHWM")

    began = time.perf_counter()
    close, size, fees, slippage, groups = wide_arrays(inputs)
    built = time.perf_counter()
    final, sharpe, drawdown = as_usual(close, size, fees, slippage, groups)
    done = time.perf_counter()

    want = engine["final"]
    worst = float(np.max(np.abs(final - want) / np.maximum(np.abs(want), 1.0)))
    return {
        "sets": args.sets,
        "columns": close.shape[1],
        "bars_note": "the window's bars, every instrument a column per set",
        "bars": close.shape[0],
        "data": load.data,
        "compile_seconds": compile_seconds,
        "build_seconds": built - began,
        "seconds": done - built,
        "sets_per_second": args.sets / (done - built),
        "hwm_before_mb": before,
        "peak_rss_mb": proc_status_mb("VmHWM"),
        "final_max_rel_diff": worst,
        "sharpe_finite": int(np.isfinite(sharpe).sum()),
        "max_drawdown_median": float(np.nanmedian(drawdown)),
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(main()) + "\n")

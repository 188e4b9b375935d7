"""Measurement 7: against what a user would pick instead, on the same work.

- vectorbt as usually called (`benchmarks.vbt_child`): `Portfolio.from_orders` with the sets
  as column groups on the hayes-pivot sweep's own fills, its own `final_value`,
  `sharpe_ratio` and `max_drawdown`, in a fresh process (time, peak memory, final values
  checked against the engine's), against `playbook sweep` of the same sets in a fresh
  process (`benchmarks.sweep_child`).
- backtesting.py's `Backtest.optimize` and bt (`bt.run` of one `Backtest` per set) on the
  single-asset rule of `benchmarks/trend_rule.py` (long QQQ while its N-session change is
  above a threshold, else cash), over the same grid and window as playbook's sweep of that
  rule, which has no batch path (one event walk per set). Their per-set cost is flat, so each
  runs a seeded sample of the grid; sets/s are compared. The same rule means the same
  history: playbook's trend is computed over all of QQQ's history and the window starts
  with the position the rule held then, so backtesting.py gets QQQ's history too and decides
  from the bar before the window (`benchmarks.trend_bt`), and bt's signal is computed over
  the history before its bars are cut to the window. Checks count the sampled sets whose
  backtesting.py and bt trades (entry and exit days) are playbook's fills; backtesting.py
  given the window's bars only, as before, is kept as a row: its trend starts cold in 2014, a
  different rule for the first `lookback_bars` sessions, and the check shows how many sets
  trade differently. The target's ratio (the same rule and history on the same cores) is the
  median of pairs run back to back (`same_cores_pairs`), not of two rates minutes apart.
- the whole command a user types (`playbook sweep FILE`, cold and warm numba cache: start-up,
  panel, sweep, summary, heatmap, sweep page) against the in-process steady-state sweep.

Costs: fees 10 bps and slippage 10 bps. backtesting.py: `commission=0.001`, `spread=0.001`
(its fill price moves by the spread against the order, as slippage does), whole shares of a
$1,000,000 account, idle cash earns nothing (playbook's earns DTB3), an order placed at a
bar fills at the next bar's open, here the next close (the bars are close-only: O=H=L=C), as
playbook fills a decision at the next bar's close. bt: no slippage parameter, so its
commission is 20 bps of the traded value; it trades at the close of the bar it decides on,
so its signal is shifted one bar; idle cash earns nothing.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from benchmarks.cli_timing import playbook_command, timed
from benchmarks.report import Row
from benchmarks.trend_rule import uptrend
from benchmarks.workload import Workload, trend_workload, workload

FEE, SLIPPAGE = 0.001, 0.001


def missing(package: str) -> Row | None:
    """A row saying why a reference was skipped, when its library is not installed."""
    if importlib.util.find_spec(package) is not None:
        return None
    return Row(
        "7 rivals",
        f"{package}: skipped",
        float("nan"),
        "",
        note=f"{package} is not installed (pip install -e '.[bench]')",
    )


@dataclass(frozen=True)
class RuleHistory:
    """QQQ's closes as playbook's panel has them (its own sessions, all its history to the
    window's end) and where the rule's window starts in them."""

    close: pd.Series
    first: int  # position of the window's first bar in `close`

    @property
    def window(self) -> pd.Series:
        return self.close.iloc[self.first :]


def rule_history(load: Workload) -> RuleHistory:
    from engine.runs.backtest import prepare

    _, panel = prepare(load.base)
    close = panel.prices["QQQ"].dropna()
    assert panel.window_start is not None
    return RuleHistory(close, int(close.index.searchsorted(panel.window_start)))


def grid_sample(load: Workload, sets: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    lookbacks, thresholds = load.grid["lookback_bars"], load.grid["threshold_pct"]
    pairs = [(n, t) for n in lookbacks for t in thresholds]
    picked = rng.choice(len(pairs), size=min(sets, len(pairs)), replace=False)
    return [{"lookback_bars": pairs[i][0], "threshold_pct": pairs[i][1]} for i in picked]


# --- backtesting.py -------------------------------------------------------------------------


def backtest(history: RuleHistory, same_history: bool) -> tuple[Any, int]:
    """backtesting.py's Backtest of the trend rule and the `decide_from` to run it with: on
    QQQ's history deciding from the bar before the window (the rule playbook runs), or on
    the window's bars only, deciding from its first (the trend cold in 2014)."""
    import backtesting

    from benchmarks.trend_bt import TrendBT

    close = history.close if same_history else history.window
    bars = pd.DataFrame({c: close for c in ("Open", "High", "Low", "Close")}, index=close.index)
    test = backtesting.Backtest(
        bars, TrendBT, cash=1_000_000, commission=FEE, spread=SLIPPAGE, finalize_trades=True
    )
    return test, max(history.first - 1, 0) if same_history else 0


def backtesting_optimize(
    history: RuleHistory,
    load: Workload,
    tries: int,
    processes: int | None = None,
    same_history: bool = True,
) -> dict[str, Any]:
    """`Backtest.optimize` over the grid, `max_tries` of it (its own random sample), on its
    default pool (a process per core) or, given `processes`, on a pool of that many through
    backtesting.py's own override (`backtesting.Pool`)."""
    import multiprocessing

    import backtesting

    if processes is not None:

        def pool(_: int | None = None, initializer: Any = None, initargs: tuple = ()) -> Any:
            return multiprocessing.get_context("fork").Pool(processes, initializer, initargs)

        backtesting.Pool = pool

    test, decide_from = backtest(history, same_history)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        test.run(decide_from=decide_from)  # its first run imports and sets up what others reuse
        began = time.perf_counter()
        best = test.optimize(
            lookback_bars=list(load.grid["lookback_bars"]),
            threshold_pct=list(load.grid["threshold_pct"]),
            decide_from=[decide_from],
            maximize="Sharpe Ratio",
            max_tries=tries,
            random_state=0,
        )
        seconds = time.perf_counter() - began
    return {
        "sets": tries,
        "seconds": seconds,
        "sets_per_second": tries / seconds,
        "best_sharpe": float(best["Sharpe Ratio"]),
        "processes": os.cpu_count() if processes is None else processes,
        "bars": len(history.close) if same_history else len(history.window),
    }


def trade_days(held: pd.Series) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
    """The days a position was entered and left, from the weight held at each fill."""
    was = held.shift(1, fill_value=0.0)
    return list(held.index[(held > 0) & (was <= 0)]), list(held.index[(held <= 0) & (was > 0)])


def playbook_trades(load: Workload, sample: list[dict[str, Any]]) -> list[tuple[list, list, bool]]:
    """Each set's entry days, exit days (its fills: a decision at a close fills at the next
    bar's close) and whether it holds QQQ at the end, from playbook's own runs."""
    from engine.runs.backtest import make_strategy, prepare, run_prepared

    _, panel = prepare(load.base)
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for params in sample:
            config = load.base.model_copy(update={"params": {**load.base.params, **params}})
            held = run_prepared(config, make_strategy(config), panel).simulation.fills[0]["QQQ"]
            found.append((*trade_days(held), len(held) > 0 and held.iloc[-1] > 0))
    return found


def same_trades(history: RuleHistory, load: Workload, sets: int) -> dict[str, int]:
    """Of `sets` sets of the grid, how many backtesting.py trades on playbook's days (every
    entry and exit day equal), given QQQ's history and given the window's bars only.

    backtesting.py's days are its trades' entry and exit bars (an order at a close fills at
    the next bar's open, here the close: O=H=L=C). A trade still open at the end is closed on
    the last bar by `finalize_trades`: not an exit of the rule, so not counted."""
    sample = grid_sample(load, sets, seed=11)
    last = history.close.index[-1]
    tests = {tag: backtest(history, tag == "same_history") for tag in ("same_history", "window")}
    agree = dict.fromkeys(tests, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for params, (entries, exits, open_at_end) in zip(
            sample, playbook_trades(load, sample), strict=True
        ):
            for tag, (test, decide_from) in tests.items():
                trades = test.run(**params, decide_from=decide_from)._trades
                closed = [t for t in trades["ExitTime"] if not (t == last and open_at_end)]
                agree[tag] += list(trades["EntryTime"]) == entries and closed == exits
    return {"sets": sets, **agree}


# --- bt ---------------------------------------------------------------------------------------


def bt_backtest(history: RuleHistory, params: dict[str, Any]) -> Any:
    """One set as a `bt.Backtest` (SelectWhere on the shifted signal, all in) on the window's
    bars; the signal is computed over QQQ's history, then cut to them."""
    import bt

    def commission(quantity: float, price: float) -> float:
        return abs(quantity) * price * (FEE + SLIPPAGE)

    up = uptrend(history.close, params["lookback_bars"], params["threshold_pct"])
    up = up.shift(1, fill_value=False).iloc[history.first :]
    strategy = bt.Strategy(
        f"n{params['lookback_bars']}-t{params['threshold_pct']}",
        [bt.algos.SelectWhere(up.to_frame("QQQ")), bt.algos.WeighEqually(), bt.algos.Rebalance()],
    )
    data = history.window.to_frame("QQQ")
    return bt.Backtest(strategy, data, initial_capital=1_000_000, commissions=commission)


def bt_run(history: RuleHistory, load: Workload, sets: int) -> dict[str, Any]:
    """One `bt.Backtest` per set, one `bt.run`."""
    import bt

    params = grid_sample(load, sets)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        began = time.perf_counter()
        result = bt.run(*(bt_backtest(history, p) for p in params))
        stats = result.stats
        seconds = time.perf_counter() - began
    return {
        "sets": len(params),
        "seconds": seconds,
        "sets_per_second": len(params) / seconds,
        "sharpe_finite": int(np.isfinite(pd.to_numeric(stats.loc["daily_sharpe"])).sum()),
    }


def bt_same_trades(history: RuleHistory, load: Workload, sets: int) -> dict[str, int]:
    """Of `sets` sets of the grid, how many bt trades on playbook's days: the days its QQQ
    position goes from none to some (entries) and back (exits), from its transactions (it
    trades at the close it decides on, on the signal shifted a bar)."""
    import bt

    sample = grid_sample(load, sets, seed=11)
    agree = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for params, (entries, exits, _) in zip(sample, playbook_trades(load, sample), strict=True):
            test = bt_backtest(history, params)
            traded = bt.run(test).get_transactions(test.name).reset_index()
            position = traded.groupby("Date")["quantity"].sum().cumsum()
            agree += trade_days(position) == (entries, exits)
    return {"sets": sets, "bt": agree}


# --- the whole command --------------------------------------------------------------------


def sweep_file(folder: Path, load: Workload, sets: int) -> Path:
    """The workload's sweep as the YAML files a user writes (base config and sweep file)."""
    base = folder / "base.yaml"
    base.write_text(yaml.safe_dump(load.base.model_dump(mode="json", exclude_none=True)))
    spec = load.spec(sets).model_dump(mode="json", exclude_none=True)
    spec["base"] = str(base)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def whole_command(ctx, load: Workload, sets: int, name: str) -> dict[str, Any]:
    """`playbook sweep FILE` in a fresh process: cold (fresh numba cache), then warm."""
    repeats = 1 if ctx.quick else 2
    with tempfile.TemporaryDirectory(prefix="bench-cmd-") as tmp:
        folder = Path(tmp)
        spec = sweep_file(folder, load, sets)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(folder / "numba")}

        def once(tag: str) -> float:
            return timed([*playbook_command(), "sweep", str(spec), "--out", str(folder / tag)], env)

        ctx.log(f"  playbook sweep, {name}, {sets:,} sets: cold ...")
        cold = once("cold")
        ctx.log(f"  playbook sweep, {name}, {sets:,} sets: warm x{repeats} ...")
        warm = statistics.median(once(f"warm{i}") for i in range(repeats))
    return {"sets": sets, "cold_seconds": cold, "warm_seconds": warm, "repeats": repeats}


# --- rows -----------------------------------------------------------------------------------


def run(ctx) -> list[Row]:
    rows: list[Row] = []
    rows += vectorbt_rows(ctx)
    rows += command_rows(ctx)
    rows += rule_rows(ctx)
    return rows


def vectorbt_rows(ctx) -> list[Row]:
    from benchmarks.runner import run_child

    rows = []
    for n in ctx.sizes.vbt_sets:
        ctx.log(f"  vectorbt from_orders as usually called, {n:,} sets, fresh process ...")
        args = [sys.executable, "-m", "benchmarks.vbt_child", "--sets", str(n)]
        vbt = run_child(args + (["--synthetic"] if ctx.synthetic else []))
        ours = ctx.sweep_child(n)
        ctx.details.setdefault("rivals", {})[f"vectorbt_{n}"] = vbt
        ours_s = ours["seconds"]
        rows.append(
            Row(
                "7 rivals",
                f"hayes-pivot, {n:,} sets: playbook sweep vs vectorbt from_orders as usually "
                "called (sets as column groups)",
                ours_s,
                "s",
                vbt["seconds"],
                "vectorbt",
                vbt["seconds"] / ours_s,
                "x faster",
                note=f"vectorbt {vbt['sets_per_second']:.1f} sets/s (from_orders + final_value, "
                f"sharpe_ratio, max_drawdown; warm: its first call's compile "
                f"{vbt['compile_seconds']:.1f} s and building the {vbt['columns']:,}-column "
                f"frames {vbt['build_seconds']:.2f} s not counted) vs playbook "
                f"{ours['sets_per_second']:,.0f} sets/s end to end (signals, decisions, "
                "simulation, metrics, chunk files); same fills",
            )
        )
        rows.append(
            Row(
                "7 rivals",
                f"hayes-pivot, {n:,} sets: peak RSS, playbook sweep vs vectorbt",
                ours["peak_rss_mb"],
                "MB",
                vbt["peak_rss_mb"],
                "vectorbt",
                vbt["peak_rss_mb"] / ours["peak_rss_mb"],
                "x less",
                note="each a fresh process's high-water mark (vectorbt's includes the engine "
                f"run that made its fills: {vbt['hwm_before_mb']:,.0f} MB before from_orders)",
            )
        )
        rows.append(
            Row(
                "7 rivals",
                f"final value, vectorbt vs engine (max rel. diff, {n:,} sets)",
                vbt["final_max_rel_diff"],
                "",
                target="<= 1e-9",
                met=vbt["final_max_rel_diff"] <= 1e-9,
            )
        )
    return rows


def command_rows(ctx) -> list[Row]:
    rows = []
    for name, load, sets in (
        ("hayes-pivot", workload(ctx.synthetic), max(ctx.sizes.sweep_sets)),
        ("trend rule", trend_workload(ctx.synthetic), ctx.sizes.rule_sets),
    ):
        command = whole_command(ctx, load, sets, name)
        ctx.details.setdefault("rivals", {})[f"command_{name}"] = command
        child = ctx.sweep_child(sets, workload="trend" if name == "trend rule" else "hayes-pivot")
        inproc = child["sets_per_second"]
        for tag in ("warm", "cold"):
            rate = sets / command[f"{tag}_seconds"]
            rows.append(
                Row(
                    "4 cli",
                    f"WHOLE COMMAND: playbook sweep, {name}, {sets:,} sets, {tag} numba cache",
                    rate,
                    "sets/s",
                    inproc,
                    "in-process steady state",
                    rate / inproc,
                    "x",
                    note=f"{command[f'{tag}_seconds']:.1f} s from spawn to exit: start-up, "
                    "panel, sweep, summary, DSR/PBO, heatmap, sweep page"
                    + (f"; median of {command['repeats']}" if tag == "warm" else "")
                    + "; IN-PROCESS: benchmarks.sweep_child after its warm-up chunk",
                )
            )
    return rows


def rival_child(
    ctx, library: str, sets: int, processes: int | None = None, *extra: str, tag: str
) -> dict[str, Any]:
    """`benchmarks.rival_child` in a fresh process; its JSON is kept in the run's details
    under rivals.`tag`."""
    from benchmarks.runner import run_child

    args = [sys.executable, "-m", "benchmarks.rival_child", library, "--sets", str(sets), *extra]
    args += [] if processes is None else ["--processes", str(processes)]
    found = run_child(args + (["--synthetic"] if ctx.synthetic else []))
    ctx.details.setdefault("rivals", {})[tag] = found
    return found


def trades_row(
    rival: str,
    agreed: int,
    sets: int,
    given: str,
    note: str,
    reference: int | None = None,
    reference_case: str = "",
) -> Row:
    """The row of a trade check: how many of `sets` sampled sets the rival trades on
    playbook's days (all of them is the target)."""
    return Row(
        "7 rivals",
        f"trend rule: sets whose {rival} trades are playbook's fills (entry and exit days), "
        f"of {sets} sampled{given}",
        agreed,
        "sets",
        reference,
        reference_case,
        target=f"{sets} of {sets}",
        met=agreed == sets,
        note=note,
    )


def same_cores_pairs(
    ctx, sets: int, tries: int, processes: int, tag: str
) -> list[tuple[float, dict]]:
    """The target's ratio side by side: `child_repeats` pairs of a fresh playbook sweep of
    the trend rule (one process, or its two shards side by side: `processes`) and
    backtesting.py's optimize on as many processes, each pair run back to back, sorted by
    their ratio (a row reports the median pair). Measured minutes apart, the two rates
    drifted with the machine (the ratio read 23x to 28x run to run at one commit); a pair
    shares the moment."""
    from benchmarks.profile import two_shards
    from benchmarks.runner import run_child

    pairs = []
    for round_ in range(max(1, ctx.sizes.child_repeats)):
        ctx.log(
            f"  pair {round_ + 1}: playbook sweep ({processes} process), then backtesting.py "
            f"optimize ({tries}, {processes} process) ..."
        )
        if processes == 1:
            rate = run_child([*ctx.child_args(sets), "--workload", "trend"])["sets_per_second"]
        else:  # the slower shard's steady-state time is the sweep's
            shards = two_shards(ctx, sets, None, workload="trend")
            rate = sets / max(shard["seconds"] for shard in shards)
        btp = rival_child(ctx, "backtesting", tries, processes, tag=f"{tag}_pair{round_ + 1}")
        record = ctx.details.setdefault("rivals", {})  # beside backtesting.py's, for audit
        record[f"playbook_{processes}_pair{round_ + 1}"] = {"sets_per_second": rate}
        pairs.append((rate, btp))
    return sorted(pairs, key=lambda p: p[0] / p[1]["sets_per_second"])


@dataclass(frozen=True)
class BtpCase:
    """One comparison with backtesting.py's optimize on the trend rule."""

    label: str  # after "trend rule: playbook sweep vs backtesting.py Backtest.optimize, "
    processes: int | None  # backtesting.py's pool (None: its default, a process per core)
    ours: int  # playbook's processes (2: its two shards side by side)
    same_history: bool  # given QQQ's history (the same rule), else the window's bars only
    paired: bool  # measured in side-by-side pairs (`same_cores_pairs`), the target's ratio


BTP_CASES = (
    # as each is called by default: its pool (a process per core) against one playbook process
    BtpCase("2 processes", None, 1, True, False),
    # the same cores on both sides, in pairs: the target
    BtpCase("same cores: 2 processes (playbook: 2 shards side by side)", 2, 2, True, True),
    BtpCase("same cores: 1 process", 1, 1, True, True),
    BtpCase("same cores: 1 process, given the window's bars only", 1, 1, False, False),
)


def btp_row(ctx, case: BtpCase, sets: int, ours: float) -> Row:
    """The row of one backtesting.py comparison (`ours`: playbook's one-process rate)."""
    tries = ctx.sizes.btp_tries
    tag = f"backtesting_{case.processes or 'default'}{'' if case.same_history else '_window'}"
    pool = "its default pool" if case.processes is None else f"a pool of {case.processes}"
    if case.paired:
        pairs = same_cores_pairs(ctx, sets, tries, case.ours, tag)
        mine, btp = pairs[len(pairs) // 2]  # the median pair: its own two rates and ratio
        reference = btp["sets_per_second"]
        ratio = mine / reference
        readings = ", ".join(f"{p[0] / p[1]['sets_per_second']:.1f}x" for p in pairs)
        how = (
            f"median of {len(pairs)} pairs" if len(pairs) > 1 else "one pair"
        ) + f" side by side (a fresh playbook sweep, then backtesting.py): {readings}; "
    else:
        data = "QQQ's history" if case.same_history else "the window's bars only"
        ctx.log(f"  backtesting.py optimize, {tries} of the grid, {pool}, {data} ...")
        extra = () if case.same_history else ("--window-only",)
        btp = rival_child(ctx, "backtesting", tries, case.processes, *extra, tag=tag)
        mine, reference, how = ours, btp["sets_per_second"], ""
        ratio = ours / reference
    target = case.same_history and case.paired
    playbook = "2 shards side by side" if case.ours == 2 else "1 process"
    return Row(
        "7 rivals",
        f"trend rule: playbook sweep vs backtesting.py Backtest.optimize, {case.label}",
        mine,
        "sets/s",
        reference,
        "backtesting.py",
        ratio,
        "x faster",
        ">= 25x on the same cores (reported, never a test)" if target else "",
        ratio >= 25 if target else None,
        how + f"optimize over {btp['sets']:,} of the grid (max_tries), {pool} "
        f"({btp['processes']}); playbook {playbook} ({sets:,} sets); "
        + (
            f"same window and rule: QQQ's history ({btp['bars']:,} bars), deciding "
            "from the bar before the window (its Sharpe, which it maximizes, "
            "spans the history)"
            if case.same_history
            else f"its {btp['bars']:,} bars only: its trend starts cold, not the "
            "same rule for the first lookback sessions"
        )
        + ("" if case.paired or not case.same_history else "; as each is called by default"),
    )


def rule_rows(ctx) -> list[Row]:
    sets = ctx.sizes.rule_sets
    child = ctx.sweep_child(sets, workload="trend")
    ours = child["sets_per_second"]
    window = f"{child['window'][0]}..{child['window'][1]}, {child['bars']:,} bars"
    rows = [
        Row(
            "7 rivals",
            f"trend rule (no batch path), {sets:,} sets: playbook sweep in-process",
            ours,
            "sets/s",
            target=">= 500 sets/s (reported, never a test)",
            met=ours >= 500,
            note=f"{window}; one event walk per set",
        )
    ]
    skipped = [r for r in (missing("backtesting"), missing("bt")) if r]
    rows += skipped
    if len(skipped) == 2:
        return rows
    if missing("backtesting") is None:
        ctx.log(f"  backtesting.py vs playbook: the trades of {ctx.sizes.trade_sets} sets ...")
        same = rival_child(ctx, "trades", ctx.sizes.trade_sets, tag="backtesting_trades")
        rows.append(
            trades_row(
                "backtesting.py",
                same["same_history"],
                same["sets"],
                ", given QQQ's history",
                f"given the window's bars only, {same['window']} of {same['sets']} trade on the "
                "same days: its trend starts cold at the window's start",
                same["window"],
                "given the window only",
            )
        )
        rows += [btp_row(ctx, case, sets, ours) for case in BTP_CASES]
    if missing("bt") is None:
        ctx.log(f"  bt vs playbook: the trades of {ctx.sizes.bt_sets} sets ...")
        same = rival_child(ctx, "bt-trades", ctx.sizes.bt_sets, tag="bt_trades")
        rows.append(
            trades_row(
                "bt",
                same["bt"],
                same["sets"],
                "",
                "bt's signal computed over QQQ's history, then cut to the window's bars",
            )
        )
        ctx.log(f"  bt.run, {ctx.sizes.bt_sets} sets ...")
        bts = rival_child(ctx, "bt", ctx.sizes.bt_sets, tag="bt")
        rows.append(
            Row(
                "7 rivals",
                "trend rule: playbook sweep vs bt (one Backtest per set, bt.run)",
                ours,
                "sets/s",
                bts["sets_per_second"],
                "bt",
                ours / bts["sets_per_second"],
                "x faster",
                note=f"{bts['sets']} sets of the grid, 1 process",
            )
        )
    return rows

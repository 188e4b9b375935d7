"""The same run on as_of, first_release and latest macro data, side by side (issue 21).

What revisions change: the decisions that moved (a bar where the weights in force after the
close differ between modes, and at least one mode decided) and the P&L of each mode: CAGR,
final wealth of 1 invested (product of 1 + return) and maximum drawdown, as `engine.core.metrics`
defines them for every run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.core import metrics
from engine.data.vintages import VINTAGE_MODES, VintageMode
from engine.runs.backtest import RunResult, run_backtest
from engine.runs.config import RunConfig

WEIGHT_TOLERANCE = 1e-9  # weights closer than this are the same decision


@dataclass(frozen=True)
class Sensitivity:
    runs: dict[VintageMode, RunResult]
    moved: pd.DataFrame  # date x mode: weights in force after that close, only where they differ
    pnl: pd.DataFrame  # mode x (cagr, final_wealth, max_drawdown)


def run_sensitivity(
    config: RunConfig, lines: dict | None = None, path: str = "config"
) -> Sensitivity:
    """Run `config` once per vintage mode and compare decisions and P&L."""
    runs: dict[VintageMode, RunResult] = {}
    for mode in VINTAGE_MODES:
        data = config.data.model_copy(update={"vintages": mode})
        runs[mode] = run_backtest(
            config.model_copy(update={"data": data}), lines=lines, config_path=path
        )
    return Sensitivity(runs, moved_decisions(runs), pnl_table(runs))


def moved_decisions(runs: dict[VintageMode, RunResult]) -> pd.DataFrame:
    """Bars where some mode decided and the modes' weights in force after the close differ."""
    targets = {mode: run.schedule.targets for mode, run in runs.items()}
    symbols = sorted({s for frame in targets.values() for s in frame.columns})
    start = min(run.returns.index[0] for run in runs.values())
    days = pd.DatetimeIndex(sorted({d for frame in targets.values() for d in frame.index}))
    days = days[days >= start]
    held = {
        mode: frame.reindex(columns=symbols).fillna(0.0).reindex(frame.index.union(days)).ffill()
        for mode, frame in targets.items()
    }
    rows = {}
    for day in days:
        weights = {mode: held[mode].loc[day].fillna(0.0) for mode in runs}
        values = list(weights.values())
        if any((values[0] - other).abs().max() > WEIGHT_TOLERANCE for other in values[1:]):
            rows[day] = {mode: format_weights(w) for mode, w in weights.items()}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(runs))


def pnl_table(runs: dict[VintageMode, RunResult]) -> pd.DataFrame:
    """CAGR, final wealth of 1 and max drawdown per mode (engine.core.metrics definitions)."""
    rows = {
        mode: {
            "cagr": metrics.cagr(run.returns),
            "final_wealth": 1.0 + metrics.total_return(run.returns),
            "max_drawdown": metrics.max_drawdown(run.returns),
        }
        for mode, run in runs.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index")


def format_weights(weights: pd.Series) -> str:
    held = weights[weights.abs() > WEIGHT_TOLERANCE]
    return ", ".join(f"{s} {w:.2f}" for s, w in held.items()) or "cash"


def format_sensitivity(result: Sensitivity, limit: int = 30) -> str:
    """The side-by-side text `playbook vintages sensitivity` prints."""
    first = next(iter(result.runs.values()))
    window = f"{first.returns.index[0].date()} to {first.returns.index[-1].date()}"
    lines = [f"{first.title.split(' (')[0]}: the same run on each vintage mode, {window}", ""]
    moved = result.moved
    lines.append(f"decisions that moved ({len(moved)} bars; weights in force after the close):")
    if moved.empty:
        lines.append("  none: every mode decided the same weights on the same bars")
    else:
        table = moved.head(limit).copy()
        table.index = [str(d.date()) for d in table.index]
        lines += ["  " + line for line in table.to_string().splitlines()]
        if len(moved) > limit:
            lines.append(f"  ... {len(moved) - limit} more (--limit)")
    lines += ["", "P&L per mode (difference to latest, today's revised data):"]
    base = result.pnl.loc["latest"]
    header = f"  {'mode':<14}{'CAGR':>9}{'final wealth':>14}{'max drawdown':>14}"
    lines.append(header)
    for mode, row in result.pnl.iterrows():
        lines.append(
            f"  {mode!s:<14}{row['cagr']:>9.2%}{row['final_wealth']:>14.4f}"
            f"{row['max_drawdown']:>14.2%}"
        )
    for mode, row in result.pnl.drop(index="latest").iterrows():
        lines.append(
            f"  {mode} - latest: CAGR {row['cagr'] - base['cagr']:+.2%}, final wealth "
            f"{row['final_wealth'] - base['final_wealth']:+.4f}, max drawdown "
            f"{row['max_drawdown'] - base['max_drawdown']:+.2%}"
        )
    notes = [n for n in result.runs["as_of"].notes if "vintage" in n or "definition break" in n]
    if notes:
        lines += ["", "notes (as_of run):", *[f"  {n}" for n in notes]]
    return "\n".join(lines)

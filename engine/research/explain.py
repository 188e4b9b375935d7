"""Why a strategy moved: its decisions with the signal values it saw, as text or a plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engine.core.panel import Panel
from engine.core.schedule import Schedule
from engine.io.atomic import write_file_atomically


def format_decisions(
    schedule: Schedule, since: pd.Timestamp | None = None, strategy: object | None = None
) -> str:
    """One line per decision: date, event, new targets, flags that were on, other signals;
    and, for a strategy that records them (`decision_rule(time)`, after its walk), the rule
    behind the decision with the source sentence it encodes."""
    rule_of = getattr(strategy, "decision_rule", None)
    log = schedule.log[schedule.log["decided"]]
    if since is not None:
        log = log[log["time"] >= since]
    if log.empty:
        return "no decisions in the window"
    flags = [c for c in schedule.signals.columns if _is_flag(schedule.signals[c])]
    values = [c for c in schedule.signals.columns if c not in flags]
    lines = []
    for row in log.itertuples(index=False):
        targets = schedule.targets.loc[row.time]
        held = ", ".join(f"{s} {w:+.2f}" for s, w in targets.items() if w != 0) or "cash"
        seen = schedule.signals.loc[row.time]
        on = [f for f in flags if seen[f] == 1.0]
        numbers = " ".join(f"{v}={_number(seen[v])}" for v in values)
        lines.append(f"{row.time.date()}  {row.kind:<28} -> {held}")
        if flags or values:
            lines.append(f"            on: {', '.join(on) or 'none'}   {numbers}".rstrip())
        why = rule_of(row.time) if callable(rule_of) else None
        if why:
            lines.append(f"            why: {why}")
    return "\n".join(lines)


def _is_flag(series: pd.Series) -> bool:
    """Numbers (or bools) that are only 0 and 1; words, dates and objects are shown as values."""
    try:
        values = pd.unique(series.dropna().astype("float64"))
    except (TypeError, ValueError):
        return False
    return bool(len(values)) and set(values.tolist()) <= {0.0, 1.0}


def latest_signals(schedule: Schedule) -> str:
    if not len(schedule.signals.columns):
        return "this strategy computes no signals"
    last = schedule.signals.iloc[-1]
    width = max(len(str(name)) for name in last.index)
    lines = [f"signals at {schedule.signals.index[-1].date()}:"]
    lines += [f"  {name:<{width}}  {_number(value)}" for name, value in last.items()]
    return "\n".join(lines)


def plot_signals(
    schedule: Schedule, panel: Panel, path: Path, title: str, since: pd.Timestamp | None = None
) -> Path:
    """Price of the first traded asset over every numeric or bool signal (as 0/1),
    decisions marked; words, dates and objects are not plotted."""
    from matplotlib.figure import Figure

    signals = schedule.signals.select_dtypes(["number", "bool"]).astype("float64")
    if since is not None:
        signals = signals.loc[since:]
    symbol = schedule.universe[0]
    price = panel.prices[symbol].loc[signals.index]
    decided = schedule.log.loc[schedule.log["decided"], "time"]
    decided = decided[decided >= signals.index[0]]
    rows = 1 + len(signals.columns)
    fig = Figure(figsize=(11, 1.6 * rows + 1), dpi=100, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, 1, sharex=True))
    axes[0].plot(price.index, price.to_numpy(), color="black", linewidth=1)
    axes[0].set_yscale("log")
    axes[0].set_ylabel(symbol)
    for ax, name in zip(axes[1:], signals.columns, strict=True):
        ax.plot(signals.index, signals[name].to_numpy(), linewidth=0.9)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
    for ax in axes:
        for when in decided:
            ax.axvline(when, color="tab:red", alpha=0.25, linewidth=0.8)
    fig.suptitle(f"{title}: signals (red lines: decisions)")
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    write_file_atomically(path, lambda tmp: fig.savefig(tmp, format=fmt))
    return path


def _number(value: object) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "n/a" if np.isnan(number) else f"{number:.4g}"

"""The scenario table: playbooks x named scenarios, one row per cell, on one page.

Issue 20's "one table of a playbook across all named scenarios (and playbooks side by side
on one scenario)". Every figure is read off a cell's per-path outcomes (`ScenarioOutcome.
per_path`); nothing is re-simulated here. Every cell has the same path count, and the cells
of one scenario the same seed (one for all with `--seed`), so a row can be read against the
next one. Three views of the same frame: `scenarios.html` (self-contained, offline),
`scenarios.csv` and a plain terminal table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engine.reports.pages.common import Figures, esc, page, pct, signed_class, table
from engine.reports.style import BENCHMARK_COLOR, PLOTLY_TEMPLATE, STRATEGY_COLOR
from engine.runs.paths import ScenarioOutcome

PAGE = "scenarios.html"
CSV = "scenarios.csv"


@dataclass(frozen=True)
class Cell:
    """One playbook (by its label: config name or strategy) on one scenario's paths."""

    playbook: str
    outcome: ScenarioOutcome


def cell_row(cell: Cell) -> dict[str, object]:
    """The figures of one cell, from its per-path outcomes (fractions, not percent)."""
    outcome = cell.outcome
    per_path = outcome.per_path
    cagr = per_path["cagr"].to_numpy(dtype=float)
    drawdown = per_path["max_drawdown"].to_numpy(dtype=float)
    final = per_path["final_wealth"].to_numpy(dtype=float)
    row: dict[str, object] = {
        "playbook": cell.playbook,
        "strategy": outcome.strategy,
        "scenario": outcome.scenario,
        "paths": outcome.paths,
        "seed": outcome.seed,
        "cagr_median": float(np.nanmedian(cagr)),
        "cagr_p5": float(np.nanpercentile(cagr, 5)),
        "cagr_p95": float(np.nanpercentile(cagr, 95)),
        "max_drawdown_median": float(np.nanmedian(drawdown)),
        "max_drawdown_p5": float(np.nanpercentile(drawdown, 5)),  # the worst 5% start here
        "p_loss": float(np.mean(final < 1.0)),
        "benchmark": outcome.config.benchmark or "",
        "p_beat_benchmark": np.nan,
        "benchmark_cagr_median": np.nan,
    }
    if "beat_benchmark" in per_path:
        row["p_beat_benchmark"] = float(per_path["beat_benchmark"].mean())
        row["benchmark_cagr_median"] = float(np.nanmedian(per_path["benchmark_cagr"]))
    for column in per_path.columns:
        if column.startswith("exposure."):
            row[column] = float(per_path[column].mean())
    return row


def table_frame(cells: Sequence[Cell]) -> pd.DataFrame:
    """One row per cell in the order given; exposure columns for every phase seen (a
    scenario's cells leave other scenarios' phases empty)."""
    return pd.DataFrame([cell_row(cell) for cell in cells])


def row_key(frame: pd.DataFrame) -> str:
    """What the rows vary by: 'scenario' (one playbook), 'playbook' (one scenario), or both."""
    playbooks, scenarios = frame["playbook"].nunique(), frame["scenario"].nunique()
    if playbooks == 1:
        return "scenario"
    if scenarios == 1:
        return "playbook"
    return "both"


def title_of(frame: pd.DataFrame) -> str:
    key = row_key(frame)
    if key == "scenario":
        many = f"{len(frame)} scenarios" if len(frame) > 1 else "1 scenario"
        return f"SYNTHETIC scenarios: {frame['playbook'].iloc[0]} across {many}"
    if key == "playbook":
        return (
            f"SYNTHETIC scenario {frame['scenario'].iloc[0]}: {len(frame)} playbooks side by side"
        )
    playbooks, scenarios = frame["playbook"].nunique(), frame["scenario"].nunique()
    return f"SYNTHETIC scenarios: {playbooks} playbooks x {scenarios} scenarios"


def exposure_text(row: pd.Series) -> str:
    """'phase 40%, phase 90%': mean exposure over paths in each of the row's phases."""
    parts = [
        f"{name.split('.', 1)[1]} {pct(value, signed=False, digits=0)}"
        for name, value in row.items()
        if str(name).startswith("exposure.") and pd.notna(value)
    ]
    return ", ".join(parts) or "n/a"


HEADERS = (
    "CAGR median",
    "CAGR 5th-95th",
    "max DD median",
    "max DD 5th",
    "P(loss)",
    "P(beat bench)",
    "bench CAGR median",
    "exposure by phase (mean over paths)",
)


def _labels(frame: pd.DataFrame, row: pd.Series) -> list[str]:
    key = row_key(frame)
    if key == "both":
        return [str(row["playbook"]), str(row["scenario"])]
    return [str(row[key])]


def _label_headers(frame: pd.DataFrame) -> list[str]:
    key = row_key(frame)
    return ["playbook", "scenario"] if key == "both" else [key]


def _cells(row: pd.Series) -> list[str]:
    """The figures of a row as text, in HEADERS order (plain: no HTML)."""
    bench = f" ({row['benchmark']})" if row["benchmark"] else ""
    return [
        pct(row["cagr_median"]),
        f"{pct(row['cagr_p5'])} to {pct(row['cagr_p95'])}",
        pct(row["max_drawdown_median"]),
        pct(row["max_drawdown_p5"]),
        pct(row["p_loss"], signed=False, digits=0),
        pct(row["p_beat_benchmark"], signed=False, digits=0),
        pct(row["benchmark_cagr_median"])
        + (bench if pd.notna(row["benchmark_cagr_median"]) else ""),
        exposure_text(row),
    ]


def _same_paths_note(frame: pd.DataFrame) -> str:
    paths, seeds = sorted(set(frame["paths"])), sorted(set(frame["seed"]))
    if len(paths) == 1 and len(seeds) == 1:
        return (
            f"Every cell ran on the same {paths[0]} paths of seed {seeds[0]} (path i of a "
            "scenario is the same market for every playbook), so cells are comparable."
        )
    per_scenario = frame.groupby("scenario", sort=False)["seed"].unique()
    if len(paths) == 1 and all(len(s) == 1 for s in per_scenario):
        own = ", ".join(f"{name} {s[0]}" for name, s in per_scenario.items())
        return (
            f"Every cell ran on {paths[0]} paths of its scenario's own seed ({own}): path i "
            "of a scenario is the same market for every playbook, so a scenario's cells are "
            "comparable, and each is what `playbook scenario run` prints for it."
        )
    return "Cells ran on different path counts or seeds: compare them with care."


def terminal_table(frame: pd.DataFrame) -> str:
    """The table as plain aligned text for the terminal (figures as on the page)."""
    head = [*_label_headers(frame), *HEADERS]
    rows = [[*_labels(frame, row), *_cells(row)] for _, row in frame.iterrows()]
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for r in [head, *rows]:
        cells = [
            str(text).ljust(w)
            if i < len(head) - len(HEADERS) or i == len(head) - 1
            else str(text).rjust(w)
            for i, (text, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join([title_of(frame), *lines, _same_paths_note(frame)])


def render_page(frame: pd.DataFrame, command: str = "") -> str:
    """The whole self-contained page: note, table, chart of median CAGR with its range."""
    title = title_of(frame)
    labels = _label_headers(frame)
    html_rows = []
    for _, row in frame.iterrows():
        texts = _cells(row)
        html_rows.append(
            [
                *(esc(t) for t in _labels(frame, row)),
                f'<span class="{signed_class(row["cagr_median"])}">{esc(texts[0])}</span>',
                *(esc(t) for t in texts[1:]),
            ]
        )
    grid = table([*labels, *HEADERS], html_rows, left=len(labels), html_id="scenario-table")
    ran = f'<p class="muted">Command: <code>{esc(command)}</code></p>' if command else ""
    body = f"""<style>#scenario-table td:last-child,#scenario-table th:last-child{{text-align:left}}
</style><h1>{esc(title)}</h1>
<p class="lede">Every path is a generated market (not history): a named scenario's story with
seeded noise; each playbook decides on each path's own data, point in time, with its config's
costs.</p>
<p class="note" id="same-paths">{esc(_same_paths_note(frame))}</p>
{grid}
<p class="muted">CAGR median and its 5th-95th percentile range over paths; max DD: maximum
drawdown (median, and the 5th percentile: 1 path in 20 is worse); P(loss): share of paths
ending below the starting wealth; P(beat bench): share of paths ending above the benchmark
(each playbook's own, named beside its median CAGR); exposure: gross exposure held in each
scenario phase, mean over paths.</p>
<h2>Median CAGR, 5th-95th percentile range</h2>
{Figures().div(_chart(frame), "cagr-chart")}
{ran}"""
    return page(title, body)


def _chart(frame: pd.DataFrame) -> go.Figure:
    names = [" / ".join(_labels(frame, row)) for _, row in frame.iterrows()]
    figure = go.Figure()
    figure.add_trace(
        go.Bar(
            x=names,
            y=frame["cagr_median"] * 100,
            name="playbook, median CAGR",
            marker_color=STRATEGY_COLOR,
            error_y={
                "type": "data",
                "symmetric": False,
                "array": (frame["cagr_p95"] - frame["cagr_median"]) * 100,
                "arrayminus": (frame["cagr_median"] - frame["cagr_p5"]) * 100,
            },
        )
    )
    if frame["benchmark_cagr_median"].notna().any():
        figure.add_trace(
            go.Scatter(
                x=names,
                y=frame["benchmark_cagr_median"] * 100,
                mode="markers",
                name="benchmark, median CAGR",
                marker={"color": BENCHMARK_COLOR, "size": 11, "symbol": "diamond"},
            )
        )
    figure.update_layout(
        template=PLOTLY_TEMPLATE,
        height=380,
        margin={"l": 50, "r": 20, "t": 20, "b": 60},
        yaxis_title="CAGR, %",
        legend={"orientation": "h", "y": 1.08},
    )
    return figure

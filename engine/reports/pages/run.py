"""The run page (`run.html`): what the playbook did, when, why, and what it earned from each leg.

A pure function of a run folder's files (`engine.reports.pages.run_data`): log-scale growth of 1
against the benchmark with every decision marked (hover: the rule that fired, its detail,
the new holdings and the signal values it saw), regime or scenario-phase bands, the weights
over time as stacked areas, the drawdown with the worst episode shaded, the decision list
(what each decision earned while it was in force) and each instrument's contribution.
Interactive with plotly, embedded once, so the page works offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.core import metrics
from engine.reports.pages import run_data as rd
from engine.reports.pages.common import (
    Figures,
    card,
    esc,
    num,
    page,
    pct,
    signed_class,
    table,
)
from engine.reports.pages.links import RUN_PAGE, TEARSHEET, with_run_page_link
from engine.reports.style import (
    BENCHMARK_COLOR,
    CASH_COLOR,
    DRAWDOWN_COLOR,
    PLOTLY_TEMPLATE,
    REGIME_COLORS,
    STRATEGY_COLOR,
    lay_out_time_panels,
    palette_color,
)

if TYPE_CHECKING:
    from engine.runs.backtest import RunResult

MAX_SIGNALS_IN_HOVER = 14
DECISION_COLUMNS = [
    "decided",
    "rule (event that fired)",
    "holding after",
    "gross",
    "entry",
    "exit",
    "days",
    "return",
]


def write_run_page(folder: Path) -> Path:
    """(Re)write `run.html` in a run folder from its files; link it from the tearsheet."""
    from engine.io.atomic import write_file_atomically

    folder = Path(folder)
    text = run_page_html(rd.read_run_folder(folder))
    target = folder / RUN_PAGE
    write_file_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    link_from_tearsheet(folder)
    return target


def write_run_page_for(result: RunResult, folder: Path) -> Path:
    """At run time: save the page's extra inputs beside the run's files, then the page."""
    rd.save_page_inputs(result, folder)
    return write_run_page(folder)


def link_from_tearsheet(folder: Path) -> None:
    """Put one link to the run page at the top of the tearsheet's body (idempotent)."""
    sheet = Path(folder) / TEARSHEET
    if sheet.is_file():
        text = sheet.read_text(encoding="utf-8")
        linked = with_run_page_link(text)
        if linked != text:
            sheet.write_text(linked, encoding="utf-8")


# --- the page -------------------------------------------------------------------------


def run_page_html(files: rd.RunFiles) -> str:
    """The whole page for one run folder."""
    figures = Figures()
    title = str(files.run.get("title", files.folder.name))
    decisions = rd.decisions(files)
    parts = [
        _header(files, title),
        _verdict(files, decisions),
        '<h2 id="chart">Equity, decisions, exposure and drawdown</h2>',
        '<p class="lede">Growth of 1 on a log scale against the benchmark; triangles are '
        "decisions (up: more exposure, down: less; grey dots: rebalances back to the same "
        "targets; hover for the rule, its detail and the signal values it saw); shaded "
        "bands are regimes (or scenario phases); the middle panel stacks the end-of-bar "
        "weights (shorts below zero); the red band in the "
        "drawdown panel is the worst drawdown. Drag to zoom, double-click to reset, click a "
        "legend entry to hide or show it.</p>",
        figures.div(main_figure(files, decisions), "run-chart"),
        _decision_section(files, decisions),
        _contribution_section(files, figures),
        _regime_section(files),
        _notes(files),
    ]
    return page(f"{title}: run page", "".join(parts))


def _header(files: rd.RunFiles, title: str) -> str:
    bench = files.benchmark_name
    synthetic = files.run.get("synthetic")
    links = [
        f'<a href="{TEARSHEET}">quantstats tearsheet</a>',
        '<a href="equity.png">equity.png</a>',
        '<a href="config.yaml">config.yaml</a>',
    ]
    flag = ' <b class="neg">SYNTHETIC data: a fictional market</b>' if synthetic else ""
    return (
        f"<h1>{esc(title)}</h1>"
        f'<p class="lede">strategy <b>{esc(files.run.get("strategy", ""))}</b>, '
        f"{esc(files.stats.get('start'))} to {esc(files.stats.get('end'))}, "
        f"{esc(files.stats.get('bars'))} bars, benchmark <b>{esc(bench or 'none')}</b>, "
        f"run <code>{esc(files.run.get('id', files.folder.name))}</code>{flag}</p>"
        f"<nav>{''.join(links)}</nav>"
    )


def _verdict(files: rd.RunFiles, decisions: pd.DataFrame) -> str:
    s = files.stats
    b = s.get("benchmark") or {}
    name = esc(files.benchmark_name or "benchmark")

    def vs(key: str, fmt: str = "pct") -> str:
        if key not in b:
            return ""
        value = pct(b[key]) if fmt == "pct" else num(b[key])
        return f"{name}: {value}"

    cards = [
        card("CAGR", pct(s.get("cagr"), digits=2), vs("cagr")),
        card("max drawdown", pct(s.get("max_drawdown")), vs("max_drawdown")),
        card("Sharpe", num(s.get("sharpe")), vs("sharpe", "num")),
        card("volatility", pct(s.get("volatility"), signed=False), vs("volatility")),
        card("total return", pct(s.get("total_return"), digits=0), vs("total_return")),
        card("Calmar", num(s.get("calmar")), vs("calmar", "num")),
        card("time in market", pct(s.get("time_in_market"), signed=False, digits=0)),
        card("turnover / year", num(s.get("turnover_per_year"))),
        card("decisions", str(len(decisions))),
    ]
    return f'<div class="cards" id="verdict">{"".join(cards)}</div>' + _worst_note(files, decisions)


def _worst_note(files: rd.RunFiles, decisions: pd.DataFrame) -> str:
    """Say where the max drawdown came from: its dates and the decision in force."""
    episode = rd.worst_drawdown(files.returns["strategy"])
    if episode is None:
        return '<p class="note">The strategy never fell below a previous peak.</p>'
    recovered = "not recovered"
    if episode.recovered is not None:
        recovered = f"recovered {episode.recovered.date()}"
    cause = ""
    if len(decisions):
        held = decisions[decisions["entry"] < episode.peak]
        during = decisions[
            (decisions["entry"] >= episode.peak) & (decisions["entry"] <= episode.trough)
        ]
        if len(held):
            d = held.iloc[-1]
            cause = (
                f" At the peak it held {esc(d['holding'])}, from the decision of "
                f"{d['decided'].date()} (<b>{esc(d['rule'])}</b>"
                f"{': ' + esc(d['detail']) if d['detail'] else ''})."
            )
        moved = during[during["changed"]]
        if len(moved):
            steps = "; ".join(
                f"{d['decided'].date()} <b>{esc(d['rule'])}</b> -> {esc(d['holding'])}"
                for _, d in moved.iterrows()
            )
            cause += f" Decisions that changed the holdings during the fall: {steps}."
        if len(during) > len(moved):
            cause += (
                f" {len(during) - len(moved)} rebalance(s) back to the same targets during "
                "the fall."
            )
    return (
        f'<p class="note" id="worst-drawdown"><b>Max drawdown {pct(episode.depth)}</b>: peak '
        f"{episode.peak.date()}, trough {episode.trough.date()}, {recovered}.{cause}</p>"
    )


# --- the main chart -------------------------------------------------------------------


def main_figure(files: rd.RunFiles, decisions: pd.DataFrame) -> go.Figure:
    """Equity (log) with decisions and regimes, stacked weights, drawdown: one shared x-axis."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.035,
        row_heights=[0.55, 0.25, 0.20],
        subplot_titles=("Growth of 1 (log scale)", "Weights (end of bar)", "Drawdown"),
    )
    r = files.returns
    strategy = metrics.growth_of_one(r["strategy"])
    if "benchmark" in r:
        fig.add_trace(
            go.Scatter(
                x=r.index,
                y=metrics.growth_of_one(r["benchmark"]),
                name=esc(files.benchmark_name or "benchmark"),
                line={"color": BENCHMARK_COLOR, "width": 1.2},
                hovertemplate="%{x|%Y-%m-%d}: %{y:.3f}<extra>benchmark</extra>",
            ),
            row=1,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=r.index,
            y=strategy,
            name="strategy",
            line={"color": STRATEGY_COLOR, "width": 1.8},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.3f}<extra>strategy</extra>",
        ),
        row=1,
        col=1,
    )
    _decision_markers(fig, files, decisions, strategy)
    _other_events(fig, files, strategy)
    _weight_areas(fig, files)
    _drawdown_traces(fig, files)
    _regime_bands(fig, files)
    lay_out_time_panels(fig, height=1020, hovermode="closest")
    return fig


def _at_or_before(series: pd.Series, when: pd.Timestamp) -> float:
    position = series.index.searchsorted(when, side="right") - 1
    return float(series.iloc[max(position, 0)])


def _signal_lines(files: rd.RunFiles, when: pd.Timestamp) -> list[str]:
    if files.signals is None or when not in files.signals.index:
        return []
    row = files.signals.loc[when]
    if isinstance(row, pd.DataFrame):
        row = row.iloc[-1]
    lines = [f"{esc(name)} = {num(value, 3)}" for name, value in row.items() if pd.notna(value)]
    if len(lines) > MAX_SIGNALS_IN_HOVER:
        lines = [*lines[:MAX_SIGNALS_IN_HOVER], f"... {len(lines) - MAX_SIGNALS_IN_HOVER} more"]
    return lines


def decision_hover(files: rd.RunFiles, row: pd.Series) -> str:
    """The hover text of one decision marker (escaped: plotly renders hover text as HTML)."""
    lines = [
        f"<b>{row['decided'].date()}  {esc(row['rule'])}</b>",
        *([esc(row["detail"])] if row["detail"] else []),
        f"-> {esc(row['holding'])}  (gross {row['gross_before']:.0%} -> {row['gross']:.0%})",
        f"while in force: {pct(row['return'])} over {row['days']} days",
    ]
    signals = _signal_lines(files, row["decided"])
    if signals:
        lines += ["<i>signals at the decision:</i>", *signals]
    return "<br>".join(lines)


def _decision_markers(
    fig: go.Figure, files: rd.RunFiles, decisions: pd.DataFrame, strategy: pd.Series
) -> None:
    if decisions.empty:
        return
    up = decisions["gross"] >= decisions["gross_before"]
    changed = decisions["changed"]
    for mask, symbol, color, label in (
        (changed & up, "triangle-up", "#1a7f37", "decision: more or same exposure"),
        (changed & ~up, "triangle-down", "#c0392b", "decision: less exposure"),
        (~changed, "circle", "#888888", "rebalance to the same targets"),
    ):
        chosen = decisions[mask]
        if chosen.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=chosen["entry"],
                y=[_at_or_before(strategy, t) for t in chosen["entry"]],
                mode="markers",
                name=label,
                marker={
                    "symbol": symbol,
                    "size": 13 if symbol != "circle" else 6,
                    "color": color,
                    "line": {"width": 1 if symbol != "circle" else 0},
                },
                hovertext=[decision_hover(files, row) for _, row in chosen.iterrows()],
                hoverinfo="text",
            ),
            row=1,
            col=1,
        )


def _other_events(fig: go.Figure, files: rd.RunFiles, strategy: pd.Series) -> None:
    """Events the strategy saw and did not act on (rebalances left out), hidden by default."""
    ev = files.events
    times = pd.DatetimeIndex(ev["time"])
    index = files.returns.index
    keep = (~ev["decided"].to_numpy()) & (ev["kind"] != "rebalance").to_numpy()
    keep &= np.asarray((times >= index[0]) & (times <= index[-1]))
    seen = ev[keep]
    if seen.empty:
        return
    when = pd.DatetimeIndex(seen["time"])
    fig.add_trace(
        go.Scatter(
            x=when,
            y=[_at_or_before(strategy, t) for t in when],
            mode="markers",
            name="event seen, no decision",
            visible="legendonly",
            marker={"symbol": "circle-open", "size": 7, "color": "#555"},
            hovertext=[
                f"{t.date()}  {esc(k)}" + (f"<br>{esc(d)}" if d else "")
                for t, k, d in zip(when, seen["kind"], seen["detail"], strict=True)
            ],
            hoverinfo="text",
        ),
        row=1,
        col=1,
    )


def _weight_areas(fig: go.Figure, files: rd.RunFiles) -> None:
    """Longs stacked above zero, shorts below, CASH on top of the longs."""
    w = files.weights
    names = [c for c in w.columns if c != rd.CASH] + ([rd.CASH] if rd.CASH in w.columns else [])
    for i, name in enumerate(names):
        color = CASH_COLOR if name == rd.CASH else palette_color(i)
        column = w[name].astype(float)
        for part, group in ((column.clip(lower=0.0), "long"), (column.clip(upper=0.0), "short")):
            if not (part != 0).any():
                continue
            fig.add_trace(
                go.Scatter(
                    x=w.index,
                    y=part,
                    name=esc(name),
                    legendgroup=esc(name),
                    showlegend=group == "long" or not (column > 0).any(),
                    stackgroup=group,
                    line={"width": 0.5, "color": color},
                    fillcolor=color,
                    hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>" + esc(name) + "</extra>",
                ),
                row=2,
                col=1,
            )
    gross = w.drop(columns=[rd.CASH], errors="ignore").abs().sum(axis=1)
    fig.add_trace(
        go.Scatter(
            x=w.index,
            y=gross,
            name="gross exposure",
            line={"color": "black", "width": 1, "dash": "dot"},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>gross exposure</extra>",
        ),
        row=2,
        col=1,
    )


def _drawdown_traces(fig: go.Figure, files: rd.RunFiles) -> None:
    r = files.returns
    if "benchmark" in r:
        fig.add_trace(
            go.Scatter(
                x=r.index,
                y=rd.drawdown(r["benchmark"]),
                name="benchmark drawdown",
                line={"color": BENCHMARK_COLOR, "width": 0.8},
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>benchmark</extra>",
            ),
            row=3,
            col=1,
        )
    fig.add_trace(
        go.Scatter(
            x=r.index,
            y=rd.drawdown(r["strategy"]),
            name="strategy drawdown",
            fill="tozeroy",
            line={"color": DRAWDOWN_COLOR, "width": 1},
            hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>strategy</extra>",
        ),
        row=3,
        col=1,
    )
    episode = rd.worst_drawdown(r["strategy"])
    if episode is not None:
        fig.add_vrect(
            x0=episode.peak,
            x1=episode.trough,
            fillcolor=DRAWDOWN_COLOR,
            opacity=0.18,
            line_width=0,
            row=3,
            col=1,
        )


def covered_regimes(files: rd.RunFiles) -> pd.DataFrame:
    """Regimes that overlap the run, clipped to its window."""
    if files.regimes is None or files.regimes.empty:
        return pd.DataFrame(columns=["regime", "start", "end", "description"])
    table = files.regimes[files.regimes["coverage"] != "none"].copy()
    first, last = files.returns.index[0], files.returns.index[-1]
    table["start"] = pd.to_datetime(table["start"]).clip(lower=first)
    table["end"] = pd.to_datetime(table["end"]).clip(upper=last)
    return table[table["start"] <= table["end"]]


def _regime_bands(fig: go.Figure, files: rd.RunFiles) -> None:
    for i, row in enumerate(covered_regimes(files).itertuples(index=False)):
        color = REGIME_COLORS[i % len(REGIME_COLORS)]
        for panel in (1, 2):
            fig.add_vrect(
                x0=row.start,
                x1=row.end,
                fillcolor=color,
                opacity=0.10,
                line_width=0,
                layer="below",
                row=panel,
                col=1,
            )
        fig.add_annotation(
            x=row.start,
            y=0.995 - 0.025 * (i % 2),
            xref="x",
            yref="paper",
            text=esc(row.regime),
            hovertext=esc(row.description),
            showarrow=False,
            xanchor="left",
            yanchor="top",
            font={"size": 10, "color": color},
        )


# --- tables ---------------------------------------------------------------------------


def _decision_section(files: rd.RunFiles, decisions: pd.DataFrame) -> str:
    head = '<h2 id="decisions">Decisions and what each earned while in force</h2>'
    if decisions.empty:
        return head + "<p>No decisions in the window.</p>"
    rows = []
    for _, d in decisions.iterrows():
        rows.append(
            [
                str(d["decided"].date()),
                f"<b>{esc(d['rule'])}</b>" + (f"<br>{esc(d['detail'])}" if d["detail"] else ""),
                esc(d["holding"]),
                f"{d['gross_before']:.0%} -> {d['gross']:.0%}",
                str(d["entry"].date()),
                str(d["exit"].date()) + (" (open)" if d["open"] else ""),
                str(d["days"]),
                f'<span class="{signed_class(d["return"])}">{pct(d["return"])}</span>',
                pct(d["benchmark"]),
            ]
        )
    bench = esc(files.benchmark_name or "benchmark")
    explain = (
        '<p class="lede">Entry is the decision bar (the order fills at the next bar\'s close); '
        "exit is the next decision or the run's end. Return is the strategy's compounded "
        f"return over the bars after entry up to exit, costs included; {bench} is the same "
        "span for the benchmark.</p>"
    )
    return (
        head
        + explain
        + table(
            [*DECISION_COLUMNS, bench],
            rows,
            left=3,
            html_id="decision-table",
            row_classes=["open" if o else "" for o in decisions["open"]],
        )
    )


def _contribution_section(files: rd.RunFiles, figures: Figures) -> str:
    head = '<h2 id="contributions">Contribution of each leg</h2>'
    frame = rd.contributions(files)
    cumulative = rd.cumulative_contributions(files)
    if frame is None or cumulative is None:
        return head + (
            "<p>This run folder has no instrument returns (written by runs since the run "
            "page): rerun it to see each leg's contribution.</p>"
        )
    total = float(files.returns["strategy"].sum())
    definition = (
        '<p class="note">Contribution of an instrument = the sum over bars of its weight at '
        "the previous bar's close times its return on the bar (CASH earns the cash rate; a "
        "short leg <code>SYM~short</code> pays borrow). The rows add up to the sum of the "
        f"strategy's bar returns ({pct(total)}), with fees, slippage and fill-bar trading "
        "in <i>costs and fills</i>; sums of bar returns are not the compounded total return.</p>"
    )
    rows = [
        [esc(name), f'<span class="{signed_class(v)}">{pct(v)}</span>']
        for name, v in frame["contribution"].items()
    ]
    rows.append(["<b>sum of strategy bar returns</b>", f"<b>{pct(total)}</b>"])
    lines = go.Figure()
    for i, name in enumerate(cumulative.columns):
        color = CASH_COLOR if name == rd.CASH else palette_color(i)
        lines.add_trace(
            go.Scatter(
                x=cumulative.index,
                y=cumulative[name],
                name=esc(name),
                line={"color": color, "width": 1.4},
                hovertemplate="%{x|%Y-%m-%d}: %{y:.1%}<extra>" + esc(name) + "</extra>",
            )
        )
    lines.update_layout(
        height=340,
        template=PLOTLY_TEMPLATE,
        title="Cumulative contribution (sum of previous weight x return)",
        yaxis={"tickformat": ".0%"},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    return (
        head
        + definition
        + table(["instrument", "contribution"], rows, html_id="contribution-table")
        + figures.div(lines, "contribution-chart")
    )


def _regime_section(files: rd.RunFiles) -> str:
    if files.regimes is None or files.regimes.empty:
        return ""
    bench = esc(files.benchmark_name or "benchmark")
    rows = []
    for row in files.regimes.to_dict("records"):
        covered = row["coverage"] != "none"

        def show(key: str, covered: bool = covered, row: dict = row) -> str:
            return pct(row[key]) if covered else "not covered"

        rows.append(
            [
                f'<span title="{esc(row["description"])}">{esc(row["regime"])}</span>',
                f"{esc(row['start'])} to {esc(row['end'])}",
                esc(row["coverage"]),
                show("return"),
                show("max_drawdown"),
                show("benchmark_return"),
            ]
        )
    return '<h2 id="regimes">Per regime</h2>' + table(
        ["regime", "window", "coverage", "return", "max drawdown", f"{bench} return"],
        rows,
        left=3,
        html_id="regime-table",
    )


def _notes(files: rd.RunFiles) -> str:
    notes = files.run.get("notes") or []
    if not notes:
        return ""
    items = "".join(f"<li>{esc(n)}</li>" for n in notes)
    return f"<details><summary>Run notes ({len(notes)})</summary><ul>{items}</ul></details>"

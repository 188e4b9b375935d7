"""The sweep report (`sweep.html`): is the best set a finding or luck?

A function of a sweep folder's files (`engine.reports.pages.sweep_data`): the verdict (best set,
deflated Sharpe, PBO, walk-forward) with one sentence each on what they mean, the parameter
surface as labelled heatmaps on a diverging scale centred on the benchmark's figure with
the best set marked, in-sample against out-of-sample, each walk-forward window, and the
best sets' equity against the benchmark when the sweep reran them.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from engine.core import metrics
from engine.reports.pages import sweep_data as sd
from engine.reports.pages.common import (
    Figures,
    card,
    esc,
    num,
    page,
    pct,
    table,
)
from engine.reports.style import BENCHMARK_COLOR, DIVERGING, PLOTLY_TEMPLATE, palette_color
from engine.sweep.summary import has_best

SWEEP_PAGE = "sweep.html"
MAX_HEATMAPS = 3
TOP_SETS = 15


def write_sweep_page(folder: Path) -> Path:
    """(Re)write `sweep.html` in a sweep folder from its files."""
    from engine.io.atomic import write_file_atomically

    folder = Path(folder)
    text = sweep_page_html(sd.read_sweep_folder(folder))
    target = folder / SWEEP_PAGE
    write_file_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return target


def write_sweep_page_for(folder: Path) -> Path:
    """After a sweep (or a merge): the benchmark's figures once, then the page."""
    sd.save_benchmark(folder)
    return write_sweep_page(folder)


def sweep_page_html(files: sd.SweepFiles) -> str:
    figures = Figures()
    base = files.identity.get("base") or {}
    title = f"Sweep of {base.get('strategy', '?')}: {files.summary.get('trials')} sets"
    parts = [
        f"<h1>{esc(title)}</h1>",
        _lede(files),
        _notes(files),
        _verdict(files),
        _meaning(files),
        _surfaces(files, figures),
        _in_vs_out(files, figures),
        _walk_forward(files),
        _best_equity(files, figures),
        _top_sets(files),
    ]
    return page(title, "".join(parts))


def _lede(files: sd.SweepFiles) -> str:
    spec = files.spec
    bench = files.benchmark or {}
    split = (spec.get("split") or {}).get("oos_start")
    return (
        f'<p class="lede">metric <b>{esc(files.metric)}</b>, parameters '
        f"{esc(', '.join(files.params()))}, {esc(files.summary.get('blocks'))} blocks"
        + (f", out of sample from {esc(split)}" if split else "")
        + f", benchmark <b>{esc(bench.get('symbol', 'none'))}</b>. Folder "
        f"<code>{esc(files.folder.name)}</code>: "
        '<a href="summary.json">summary.json</a> <a href="sweep.parquet">sweep.parquet</a> '
        '<a href="heatmap.png">heatmap.png</a></p>'
    )


def _notes(files: sd.SweepFiles) -> str:
    """What the sweep said while it ran (summary.json's `notes`), above the verdict: a note
    that its rows depend on the order of the sets changes how every figure below reads."""
    notes = files.summary.get("notes") or []
    if not notes:
        return ""
    if not isinstance(notes, list):  # a summary.json edited by hand
        notes = [notes]
    items = "".join(f"<li>{esc(note)}</li>" for note in notes)
    return f'<div class="note" id="notes"><b>Notes</b><ul>{items}</ul></div>'


def _params_text(params_json: str) -> str:
    params = json.loads(params_json)
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _verdict(files: sd.SweepFiles) -> str:
    s = files.summary
    best = s.get("best") or {}
    bench = files.benchmark or {}
    name = esc(bench.get("symbol", "benchmark"))

    def vs(key: str, as_pct: bool) -> str:
        if bench.get(key) is None:
            return ""
        return f"{name}: {pct(bench[key]) if as_pct else num(bench[key])}"

    wf = s.get("walk_forward") or {}
    metric = str(s.get("metric", "sharpe"))
    ranked = has_best(s)
    cards = [
        card(
            "best set" if ranked else "no best set",
            esc(best.get("id", "")),
            esc(_params_text(json.dumps(best.get("params", {}))))
            + ("" if ranked else f" (the first: no set has a {esc(metric)})"),
        ),
        card("Sharpe", num(best.get("sharpe")), vs("sharpe", False)),
        card("CAGR", pct(best.get("cagr"), digits=2), vs("cagr", True)),
        card("max drawdown", pct(best.get("max_drawdown")), vs("max_drawdown", True)),
        card(
            "Sharpe in / out of sample",
            f"{num(best.get('sharpe_is'))} / {num(best.get('sharpe_oos'))}",
            f"{name}: {num(bench.get('sharpe_is'))} / {num(bench.get('sharpe_oos'))}"
            if bench
            else "",
        ),
        card("deflated Sharpe", num(s.get("deflated_sharpe"), 3), f"over {s.get('trials')} trials"),
        card("PBO", num(s.get("pbo"), 2), f"CSCV over {s.get('blocks')} blocks"),
    ]
    if wf:
        cards.append(
            card(
                "walk-forward",
                f"{pct(wf.get('picked_beat_median_share'), signed=False, digits=0)}",
                f"windows where the pick beat the median set ({wf.get('windows')})",
            )
        )
    return f'<div class="cards" id="verdict">{"".join(cards)}</div>'


def _meaning(files: sd.SweepFiles) -> str:
    s = files.summary
    dsr, pbo = s.get("deflated_sharpe"), s.get("pbo")
    if dsr is None and pbo is None and not has_best(s):
        verdict = "nothing to judge: no set has a " + esc(s.get("metric", "sharpe"))
    elif (dsr or 0) >= 0.95 and (pbo or 1) < 0.5:
        verdict = "likely a finding"
    else:
        verdict = "not distinguishable from the luck of trying many sets"
    return (
        '<div class="note" id="meaning">'
        f"<p><b>Deflated Sharpe {num(dsr, 3)}</b>: the probability that the best set's true "
        f"Sharpe is above zero, after allowing for having picked it out of {s.get('trials')} "
        "trials and for its returns' skew and fat tails (0.95 or more is the usual bar).</p>"
        f"<p><b>PBO {num(pbo, 2)}</b>: the probability of backtest overfitting, how often the set "
        "that was best on half of the blocks ranks below the median on the other half (CSCV; "
        "0.5 is a coin toss, lower is better).</p>"
        "<p><b>Walk-forward</b>: pick the best set on a few blocks, hold it on the next block, "
        "and compare it with the median set there; a real edge beats the median in most "
        f"windows.</p><p>Read together: <b>{verdict}</b>.</p></div>"
    )


# --- the parameter surface --------------------------------------------------------------


def _label(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _centre(files: sd.SweepFiles) -> tuple[float | None, str]:
    """The colour scale's midpoint: the benchmark's figure for the sweep's metric."""
    bench = files.benchmark or {}
    value = bench.get(files.metric)
    if value is None:
        return None, "no benchmark figure: the scale is centred on the median set"
    return float(value), f"white = {esc(bench.get('symbol'))}'s {esc(files.metric)} {num(value)}"


def surface_figure(files: sd.SweepFiles, x: str, y: str) -> go.Figure:
    grid = sd.surface(files.table, x, y, files.metric)
    z = grid.to_numpy(dtype=float)
    centre, _ = _centre(files)
    mid = centre if centre is not None else float(np.nanmedian(z))
    xs, ys = [_label(v) for v in grid.columns], [_label(v) for v in grid.index]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=xs,
            y=ys,
            zmid=mid,
            colorscale=DIVERGING,
            text=[[num(v) for v in row] for row in z],
            texttemplate="%{text}",
            textfont={"size": 13},
            colorbar={"title": {"text": esc(files.metric)}},
            hovertemplate=f"{esc(x)}=%{{x}}<br>{esc(y)}=%{{y}}<br>"
            + f"mean {esc(files.metric)} %{{z:.3f}}<extra></extra>",
        )
    )
    best = sd.best_row(files)
    fig.add_trace(
        go.Scatter(
            x=[_label(sd.cell_of(files.table, best.name, x))],
            y=[_label(sd.cell_of(files.table, best.name, y))],
            mode="markers+text",
            marker={"symbol": "star", "size": 22, "color": "gold", "line": {"width": 1.5}},
            text=["best"],
            textposition="top center",
            name="best set",
            hovertext=[esc(_params_text(best["params"]))],
            hoverinfo="text",
            showlegend=False,
        )
    )
    fig.update_layout(
        title=f"{esc(files.metric)} by {esc(x)} and {esc(y)} (mean over the other parameters)",
        xaxis={"title": esc(x), "type": "category"},
        yaxis={"title": esc(y), "type": "category"},
        height=max(360, 46 * len(ys) + 180),
        margin={"l": 90, "r": 20, "t": 60, "b": 60},
        template=PLOTLY_TEMPLATE,
    )
    return fig


def line_figure(files: sd.SweepFiles, x: str) -> go.Figure:
    """One swept parameter: the metric against it, the benchmark as a line."""
    means = files.table.groupby(f"p.{x}")[files.metric].mean()
    fig = go.Figure(go.Scatter(x=[_label(v) for v in means.index], y=means, mode="lines+markers"))
    centre, _ = _centre(files)
    if centre is not None:
        fig.add_hline(y=centre, line_dash="dot", line_color=BENCHMARK_COLOR)
    fig.update_layout(
        title=f"{esc(files.metric)} by {esc(x)}",
        xaxis={"title": esc(x)},
        height=360,
        template=PLOTLY_TEMPLATE,
    )
    return fig


def _surfaces(files: sd.SweepFiles, figures: Figures) -> str:
    params = files.params()
    head = '<h2 id="surface">Parameter surface</h2>'
    _, centre_text = _centre(files)
    lede = (
        f'<p class="lede">Each cell is the mean {esc(files.metric)} of the sets with those two '
        f"values (over every other parameter). Diverging colours: blue beats the benchmark, "
        f"red does not, {centre_text}. The star is the best set. A lone bright cell among "
        "red ones is a fragile optimum; a broad blue plateau is a robust one.</p>"
    )
    if len(params) == 1:
        return head + lede + figures.div(line_figure(files, params[0]), "surface-0")
    divs = [
        figures.div(surface_figure(files, x, y), f"surface-{i}")
        for i, (x, y) in enumerate(
            itertools.islice(itertools.combinations(params, 2), MAX_HEATMAPS)
        )
    ]
    return head + lede + "".join(divs)


def _in_vs_out(files: sd.SweepFiles, figures: Figures) -> str:
    t = files.table
    if "sharpe_is" not in t or "sharpe_oos" not in t:
        return (
            '<h2 id="in-out">In sample vs out of sample</h2><p>This sweep has no '
            "<code>split:</code>; add <code>split: {oos_start: DATE}</code> to see it.</p>"
        )
    best = sd.best_row(files)
    fig = go.Figure()
    if len(t) > sd.MAX_POINTS:  # a dot per set would be megabytes: sets per cell instead
        counts, xs, ys = sd.in_out_density(t)
        fig.add_trace(
            go.Heatmap(
                z=np.where(counts > 0, counts, np.nan).T,
                x=xs,
                y=ys,
                colorscale="Greys",
                showscale=False,
                name="parameter sets",
                hovertemplate="in %{x:.2f}, out %{y:.2f}: %{z} sets<extra></extra>",
            )
        )
        dots = f"Shade: how many of the {len(t):,} sets fall in each cell."
    else:
        fig.add_trace(
            go.Scatter(
                x=t["sharpe_is"],
                y=t["sharpe_oos"],
                mode="markers",
                name="parameter set",
                marker={"size": 8, "color": palette_color(0), "opacity": 0.6},
                hovertext=[esc(_params_text(p)) for p in files.texts(range(len(t)))["params"]],
                hoverinfo="text+x+y",
            )
        )
        dots = "One dot per set."
    fig.add_trace(
        go.Scatter(
            x=[best["sharpe_is"]],
            y=[best["sharpe_oos"]],
            mode="markers",
            name="best set",
            marker={"symbol": "star", "size": 20, "color": "gold", "line": {"width": 1.5}},
        )
    )
    bench = files.benchmark or {}
    if bench.get("sharpe_is") is not None and bench.get("sharpe_oos") is not None:
        fig.add_trace(
            go.Scatter(
                x=[bench["sharpe_is"]],
                y=[bench["sharpe_oos"]],
                mode="markers",
                name=esc(bench.get("symbol", "benchmark")),
                marker={"symbol": "x", "size": 14, "color": BENCHMARK_COLOR},
            )
        )
    low = float(np.nanmin([t["sharpe_is"].min(), t["sharpe_oos"].min()]))
    high = float(np.nanmax([t["sharpe_is"].max(), t["sharpe_oos"].max()]))
    fig.add_trace(
        go.Scatter(
            x=[low, high],
            y=[low, high],
            mode="lines",
            name="out = in",
            line={"dash": "dot", "color": "#999"},
        )
    )
    fig.update_layout(
        xaxis={"title": "Sharpe in sample"},
        yaxis={"title": "Sharpe out of sample"},
        height=460,
        template=PLOTLY_TEMPLATE,
        margin={"l": 60, "r": 20, "t": 30, "b": 50},
    )
    corr = t[["sharpe_is", "sharpe_oos"]].corr(method="spearman").iloc[0, 1]
    return (
        '<h2 id="in-out">In sample vs out of sample</h2>'
        f'<p class="lede">{dots} Points near the dotted line kept their Sharpe out of '
        f"sample; rank correlation in vs out {num(corr)} (near 1: the ranking held; near 0 or "
        "below: in-sample rank says little).</p>" + figures.div(fig, "in-out-chart")
    )


def _walk_forward(files: sd.SweepFiles) -> str:
    head = '<h2 id="walk-forward">Walk-forward windows</h2>'
    ppy = None
    if files.benchmark_returns is not None and len(files.benchmark_returns) > 1:
        from engine.core import metrics

        ppy = metrics.periods_per_year(pd.DatetimeIndex(files.benchmark_returns.index))
    windows = sd.walk_forward_windows(files, ppy)
    if windows.empty:
        return head + (
            "<p>No walk-forward windows: add <code>walk_forward: {train_blocks: K}</code> to the "
            "sweep file (and keep its chunks/ folder).</p>"
        )
    unit = "annualized" if ppy else "per bar"
    rows = [
        [
            str(w.window),
            esc(w.train),
            esc(w.test)
            + (f"<br><span class='muted'>{esc(w.test_dates)}</span>" if w.test_dates else ""),
            esc(_params_text(w.picked)),
            num(w.picked_sharpe),
            num(w.median_sharpe),
            "yes" if w.beat else '<span class="neg">no</span>',
        ]
        for w in windows.itertuples()
    ]
    wf = files.summary.get("walk_forward") or {}
    return (
        head
        + f'<p class="lede">Sharpe {unit}, on the test block only. The pick beat the median set in '
        f"{int(windows['beat'].sum())} of {len(windows)} windows "
        f"({pct(wf.get('picked_beat_median_share'), signed=False, digits=0)}).</p>"
        + table(
            ["window", "train", "test", "picked set", "picked Sharpe", "median set Sharpe", "beat"],
            rows,
            left=4,
            html_id="walk-forward-table",
        )
    )


def _best_equity(files: sd.SweepFiles, figures: Figures) -> str:
    head = '<h2 id="best-equity">Best sets against the benchmark</h2>'
    curves = sd.best_equity(files)
    if not curves:
        return head + (
            "<p>This sweep kept no runs of its best sets: rerun it with "
            "<code>--rerun-best N</code> (it resumes from its chunks) to see their equity curves "
            "and tearsheets here.</p>"
        )
    fig = go.Figure()
    if files.benchmark_returns is not None:
        bench = metrics.growth_of_one(files.benchmark_returns["benchmark"])
        fig.add_trace(
            go.Scatter(
                x=bench.index,
                y=bench,
                name=esc((files.benchmark or {}).get("symbol", "benchmark")),
                line={"color": BENCHMARK_COLOR, "width": 1.2},
            )
        )
    for i, (name, curve) in enumerate(curves.items()):
        fig.add_trace(
            go.Scatter(
                x=curve.index,
                y=curve,
                name=esc(name),
                line={"color": palette_color(i), "width": 1.5},
            )
        )
    fig.update_layout(
        yaxis={"type": "log", "title": "growth of 1 (log)"},
        height=460,
        template=PLOTLY_TEMPLATE,
        margin={"l": 60, "r": 20, "t": 30, "b": 40},
    )
    links = " ".join(
        f'<a href="{sd.BEST_DIR}/{esc(run.name)}/run.html">{esc(run.name)}</a>'
        for run in files.best_runs
    )
    return head + f'<p class="lede">Run pages: {links}</p>' + figures.div(fig, "best-equity-chart")


def _top_sets(files: sd.SweepFiles) -> str:
    metric = files.metric
    ranked = files.table.sort_values(metric, ascending=False).head(TOP_SETS)
    top = sd.rows_of(files, ranked.index)
    cols = [
        c
        for c in ("sharpe", "cagr", "max_drawdown", "sharpe_is", "sharpe_oos", "turnover_per_year")
        if c in top
    ]
    pcts = {"cagr", "max_drawdown"}
    rows = [
        [esc(r["id"]), esc(_params_text(r["params"]))]
        + [pct(r[c]) if c in pcts else num(r[c]) for c in cols]
        for _, r in top.iterrows()
    ]
    return f'<h2 id="top-sets">Top {len(top)} sets by {esc(metric)}</h2>' + table(
        ["id", "params", *cols], rows, left=2, html_id="top-sets-table"
    )

"""The scenario report: the distribution of a playbook's outcomes over many paths.

One folder per scenario run, written atomically: `scenario.html` (percentile table,
probability of beating the benchmark, fan chart of wealth, CAGR histogram, exposure held in
each scenario phase), the median path's quantstats tearsheet, and the numbers as files.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from engine import __version__
from engine.io.atomic import write_folder_atomically
from engine.reports.style import (
    BENCHMARK_COLOR,
    CSS_FONT_STACK,
    GRID_COLOR,
    MUTED_TEXT_COLOR,
    PNG_DPI,
    REGIME_LINE_COLOR,
    STRATEGY_COLOR,
)
from engine.reports.tearsheet import escape_html_text
from engine.runs.paths import ScenarioOutcome, percentiles, summary_table


def write_scenario_folder(outcome: ScenarioOutcome, results_dir: Path, command: str = "") -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^a-z0-9.-]+", "-", f"{outcome.strategy}-{outcome.scenario}".lower())
    name = f"{stamp}-{slug.strip('-')}-{outcome.paths}p-s{outcome.seed}"
    return write_folder_atomically(
        Path(results_dir) / "scenarios", name, lambda folder: _fill(outcome, folder, command)
    )


def headline(outcome: ScenarioOutcome) -> dict[str, object]:
    per_path = outcome.per_path
    out: dict[str, object] = {
        "scenario": outcome.scenario,
        "strategy": outcome.strategy,
        "paths": outcome.paths,
        "seed": outcome.seed,
        "median_path": outcome.median_path,
        "periods_per_year": outcome.periods_per_year,
        "percentiles": json.loads(summary_table(outcome).to_json(orient="index")),
        "exposure_by_phase": {
            col.split(".", 1)[1]: float(per_path[col].mean())
            for col in per_path.columns
            if col.startswith("exposure.")
        },
    }
    if "beat_benchmark" in per_path:
        out["probability_beat_benchmark"] = float(per_path["beat_benchmark"].mean())
        out["benchmark"] = outcome.config.benchmark
    out["notes"] = list(outcome.notes)
    return out


def _fill(outcome: ScenarioOutcome, folder: Path, command: str) -> None:
    from engine.reports.tearsheet import write_tearsheet

    summary = {**headline(outcome), "playbook_version": __version__, "command": command}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    (folder / "config.yaml").write_text(
        yaml.safe_dump(outcome.config.model_dump(mode="json"), sort_keys=False)
    )
    outcome.per_path.to_parquet(folder / "per_path.parquet")
    percentiles(outcome.wealth).to_parquet(folder / "wealth_percentiles.parquet")
    title = (
        f"SYNTHETIC scenario {outcome.scenario}: {outcome.strategy}, median of "
        f"{outcome.paths} paths (path {outcome.median_path})"
    )
    rf = float(np.power(1 + outcome.median_cash.mean(), outcome.periods_per_year) - 1)
    write_tearsheet(
        outcome.median_returns,
        outcome.median_benchmark,
        folder / "tearsheet-median.html",
        title=title,
        periods_per_year=outcome.periods_per_year,
        rf=rf,
        benchmark_name=outcome.config.benchmark,
    )
    (folder / "scenario.html").write_text(render_page(outcome, summary), encoding="utf-8")


def render_page(outcome: ScenarioOutcome, summary: dict[str, object]) -> str:
    title = escape_html_text(
        f"SYNTHETIC scenario {outcome.scenario}: {outcome.strategy} on {outcome.paths} paths "
        f"(seed {outcome.seed})"
    )
    table = summary_table(outcome)
    rows = "".join(
        f"<tr><th>{escape_html_text(label)}</th>"
        + "".join(f"<td>{_format(label, v)}</td>" for v in row)
        + "</tr>"
        for label, row in zip(table.index, table.to_numpy(), strict=True)
    )
    beat = summary.get("probability_beat_benchmark")
    beat_line = (
        f'<p id="beat">Probability of ending above the benchmark '
        f"({escape_html_text(str(outcome.config.benchmark))}): <b>{beat:.0%}</b></p>"
        if isinstance(beat, float)
        else ""
    )
    exposure = summary["exposure_by_phase"]
    assert isinstance(exposure, dict)
    exposure_rows = "".join(
        f"<tr><th>{escape_html_text(name)}</th><td>{value:.0%}</td></tr>"
        for name, value in exposure.items()
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:{CSS_FONT_STACK};margin:24px;max-width:1100px}}
table{{border-collapse:collapse;margin:8px 0 18px}}td,th{{padding:4px 10px;text-align:right;
border-bottom:1px solid #ddd}}th:first-child{{text-align:left}}.note{{color:#555}}</style>
</head><body>
<h1>{title}</h1>
<p class="note">Every path is a generated market (not history): the scenario's story with
seeded noise. The playbook decides on each path's own data, point in time, and runs with its
config's costs. The median path's full quantstats tearsheet:
<a href="tearsheet-median.html">tearsheet-median.html</a>.</p>
{beat_line}
<h2>Distribution of outcomes</h2>
<table id="distribution"><thead><tr><th></th><th>5th</th><th>25th</th><th>median</th>
<th>75th</th><th>95th</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Wealth across paths</h2>
<img id="fan-chart" alt="fan chart of wealth" src="data:image/png;base64,{_fan_chart(outcome)}">
<h2>CAGR across paths</h2>
<img id="cagr-histogram" alt="CAGR histogram" src="data:image/png;base64,{_histogram(outcome)}">
<h2>Exposure held in each phase (mean over paths)</h2>
<table id="exposure"><tbody>{exposure_rows}</tbody></table>
</body></html>
"""


def _format(label: str, value: float) -> str:
    if "wealth" in label:
        return f"{value:.2f}x"
    return f"{value:+.1%}"


def _figure_png(draw) -> str:  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    from engine.reports.tearsheet import configure_plotting

    configure_plotting()
    fig = Figure(figsize=(10, 4.8), dpi=PNG_DPI, layout="constrained")
    draw(fig.subplots())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode()


def _fan_chart(outcome: ScenarioOutcome) -> str:
    bands = percentiles(outcome.wealth)
    bench = percentiles(outcome.benchmark_wealth) if outcome.benchmark_wealth is not None else None

    def draw(ax) -> None:  # type: ignore[no-untyped-def]
        x = bands.index
        ax.fill_between(
            x,
            bands["p5"],
            bands["p95"],
            color=STRATEGY_COLOR,
            alpha=0.15,
            label="5th-95th percentile",
            linewidth=0,
        )
        ax.fill_between(
            x,
            bands["p25"],
            bands["p75"],
            color=STRATEGY_COLOR,
            alpha=0.3,
            label="25th-75th percentile",
            linewidth=0,
        )
        ax.plot(x, bands["p50"], color=STRATEGY_COLOR, linewidth=1.6, label="median")
        if bench is not None:
            ax.plot(
                x,
                bench["p50"],
                color=BENCHMARK_COLOR,
                linewidth=1.2,
                label=f"benchmark median ({outcome.config.benchmark})",
            )
        for regime in outcome.regimes:
            ax.axvline(pd.Timestamp(regime.start), color=REGIME_LINE_COLOR, linewidth=0.6)
            ax.text(
                pd.Timestamp(regime.start),
                ax.get_ylim()[1] if False else 1.0,
                f" {regime.name}",
                fontsize=7,
                color=MUTED_TEXT_COLOR,
                rotation=90,
                va="bottom",
            )
        ax.set_yscale("log")
        ax.set_ylabel("growth of 1 (log)")
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        ax.grid(True, color=GRID_COLOR)

    return _figure_png(draw)


def _histogram(outcome: ScenarioOutcome) -> str:
    def draw(ax) -> None:  # type: ignore[no-untyped-def]
        values = outcome.per_path["cagr"].to_numpy(dtype=float) * 100
        bins = np.histogram_bin_edges(values, bins=min(40, max(5, len(values) // 10)))
        ax.hist(values, bins=bins, color=STRATEGY_COLOR, alpha=0.7, label=outcome.strategy)
        if "benchmark_cagr" in outcome.per_path:
            bench = outcome.per_path["benchmark_cagr"].to_numpy(dtype=float) * 100
            ax.hist(
                bench,
                bins=bins,
                color=BENCHMARK_COLOR,
                alpha=0.5,
                label=str(outcome.config.benchmark),
            )
        ax.set_xlabel("CAGR, %")
        ax.set_ylabel("paths")
        ax.legend(frameon=False)

    return _figure_png(draw)

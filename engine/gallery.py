"""`playbook report gallery`: how did each thesis do on real history, in one document.

Runs the three seed playbooks and their baselines on a data directory, in memory, and writes
`docs/results.md` with one growth/drawdown chart per playbook, a headline table and a
per-regime table. Output is deterministic (no timestamps), so a regenerated gallery only
changes when the code or the data did.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import metrics
from engine.config import RunConfig, load_run_config
from engine.regimes import regime_table
from engine.run import RunResult, run_backtest
from engine.signals import MissingInputWarning


@dataclass(frozen=True)
class Entry:
    """A playbook and the baselines it is judged against."""

    config: str
    baselines: tuple[str, ...]


ENTRIES = (
    Entry("hayes-pivot", ("buy-and-hold-btc", "buy-and-hold-spy", "60-40")),
    Entry("liquidity-barometer", ("buy-and-hold-btc", "buy-and-hold-spy", "60-40")),
    Entry("hard-assets-vs-duration", ("buy-and-hold-gld", "buy-and-hold-spy", "60-40")),
)
COLORS = ("#1f4e79", "#d95f02", "#7570b3", "#1b9e77", "#999999")


def build_gallery(data_dir: Path, out_dir: Path, configs_dir: Path) -> Path:
    """Run everything on `data_dir`; write `out_dir/results.md` and `out_dir/img/*.png`."""
    (out_dir / "img").mkdir(parents=True, exist_ok=True)
    sections = []
    for entry in ENTRIES:
        main = _run(configs_dir / f"{entry.config}.yaml", data_dir)
        window = (main.returns.index[0].date(), main.returns.index[-1].date())
        baselines = [_run(configs_dir / f"{b}.yaml", data_dir, window) for b in entry.baselines]
        runs = [main, *baselines]
        image = out_dir / "img" / f"{entry.config}.png"
        _plot(runs, image, f"{entry.config} vs baselines, {window[0]} to {window[1]}")
        sections.append(_section(entry, runs, image.relative_to(out_dir)))
    fingerprint = main.panel.fingerprint()
    path = out_dir / "results.md"
    path.write_text(_document(sections, data_dir, str(fingerprint["content_sha256"])[:12]))
    return path


def _run(path: Path, data_dir: Path, window: tuple | None = None) -> RunResult:
    config = load_run_config(path)
    data = config.data.model_copy(update={"source": "directory", "path": data_dir.resolve()})
    update: dict[str, object] = {"data": data, "name": path.stem}
    if window is not None:
        update.update(start=window[0], end=window[1])
    config = config.model_copy(update=update)
    RunConfig.model_validate(config.model_dump())  # the copy must still be a valid config
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        return run_backtest(config)


def _label(result: RunResult) -> str:
    return result.config.name or result.strategy.name


def _plot(runs: Sequence[RunResult], path: Path, title: str) -> None:
    from matplotlib.figure import Figure

    from engine.report import configure_plotting

    configure_plotting()
    fig = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[2, 1])
    for result, color in zip(runs, COLORS, strict=False):
        wealth = (1 + result.returns).cumprod()
        width = 1.8 if result is runs[0] else 1.0
        top.plot(
            wealth.index, wealth.to_numpy(), color=color, linewidth=width, label=_label(result)
        )
        bottom.plot(
            wealth.index,
            metrics.drawdown(result.returns).to_numpy() * 100,
            color=color,
            linewidth=width * 0.7,
        )
    top.set_yscale("log")
    top.set_ylabel("growth of 1 (log)")
    top.legend(loc="upper left", frameon=False)
    bottom.set_ylabel("drawdown %")
    for ax in (top, bottom):
        ax.grid(True, color="#dddddd", linewidth=0.6)
    fig.suptitle(title, fontweight="bold")
    fig.savefig(path, metadata={"Software": None})


def _section(entry: Entry, runs: Sequence[RunResult], image: Path) -> str:
    main = runs[0]
    lines = [
        f"## {entry.config}",
        "",
        f"*{main.strategy.thesis}*",
        "",
        f"![{entry.config} against its baselines]({image.as_posix()})",
        "",
        "| run | CAGR | volatility | Sharpe | max drawdown | time in market |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in runs:
        s = result.stats
        lines.append(
            f"| {_label(result)} | {_pct(s['cagr'])} | {_pct(s['volatility'])} | "
            f"{_num(s['sharpe'])} | {_pct(s['max_drawdown'])} | {_pct(s['time_in_market'])} |"
        )
    lines += ["", _regime_markdown(runs), ""]
    return "\n".join(lines)


def _regime_markdown(runs: Sequence[RunResult]) -> str:
    main = runs[0]
    catalog = main.panel.regimes
    tables = [regime_table(r.returns, None, catalog).set_index("regime") for r in runs]
    covered = [name for name in tables[0].index if tables[0].loc[name, "coverage"] != "none"]
    if not covered:
        return "No named regime falls inside this window."
    head = "| regime | window | " + " | ".join(_label(r) for r in runs) + " |"
    lines = [
        "Return inside each regime (peak close to trough close):",
        "",
        head,
        "|---|---|" + "---:|" * len(runs),
    ]
    for name in covered:
        row = tables[0].loc[name]
        cells = [_pct(t.loc[name, "return"]) + _partial(t.loc[name, "coverage"]) for t in tables]
        lines.append(f"| {name} | {row['start']} to {row['end']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _document(sections: Sequence[str], data_dir: Path, digest: str) -> str:
    intro = [
        "# How the playbooks did on real history",
        "",
        "Generated by `playbook report gallery --data-dir ../shared/data` from the offline "
        f"snapshot (`{data_dir.name}`, content hash `{digest}`). Each playbook runs with its "
        "config in `configs/` (costs included: fees, slippage, T-bill yield on idle cash, "
        "borrow on shorts); its baselines run over exactly the same window. Regenerate it "
        "after changing a strategy; the numbers are tested, the prose is not.",
        "",
        "Per-regime cells marked * cover only part of the regime. Past performance of a "
        "backtest is not a forecast; see each strategy's docstring for the rules.",
        "",
    ]
    return "\n".join(intro) + "\n" + "\n".join(sections)


def _pct(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "n/a" if math.isnan(number) else f"{number:+.1%}".replace("+", "")


def _num(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return "n/a" if np.isnan(number) else f"{number:.2f}"


def _partial(coverage: str) -> str:
    return "*" if coverage == "partial" else ""

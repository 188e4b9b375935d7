"""`playbook run` (a playbook into a run folder) and `playbook signals` (why it moved)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli.options import DATA_DIR, END, RESULTS_DIR, START
from engine.cli.output import command_line, fmt
from engine.cli.targets import override, resolve_target
from engine.errors import DataError


@click.command()
@click.argument("target")
@DATA_DIR
@START
@END
@RESULTS_DIR
@click.option(
    "--regime",
    default=None,
    help="Restrict the window to a named regime (`playbook regimes`), e.g. gfc.",
)
@click.option("--no-report", is_flag=True, help="Skip the tearsheet and PNG (faster).")
@click.option(
    "--offline", is_flag=True, help="Source yahoo: use only the local cache, never the network."
)
@click.option(
    "--refresh", is_flag=True, help="Source yahoo: top the cache up with the newest rows first."
)
def run(
    target: str,
    data_dir: Path | None,
    start: str | None,
    end: str | None,
    results_dir: Path | None,
    regime: str | None,
    no_report: bool,
    offline: bool,
    refresh: bool,
) -> None:
    """Run a playbook and write a run folder.

    TARGET is a config file (configs/60-40.yaml), a config name (60-40) or a strategy
    name (runs it with default settings on the embedded SYNTHETIC market).
    """
    from engine.workflows.run import run_to_folder

    path, config, lines = resolve_target(target)
    if regime is not None and (start or end):
        raise click.UsageError("give either --regime or --start/--end, not both")
    config = override(
        config, data_dir=data_dir, start=start, end=end, offline=offline, refresh=refresh
    )
    source = None  # built once: a --regime run reads the regimes from the same source
    if regime is not None:
        config, source = _in_regime(config, regime)
    folder, result = run_to_folder(
        config,
        path,
        lines,
        results_dir=results_dir,
        report=not no_report,
        command=command_line("playbook run"),
        source=source,
    )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(_summary(result))
    click.echo(_regime_summary(result))
    click.echo(f"run folder: {folder}")


@click.command()
@click.argument("target")
@DATA_DIR
@START
@END
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write a PNG of price, signals and decisions here.",
)
def signals(
    target: str, data_dir: Path | None, start: str | None, end: str | None, plot_path: Path | None
) -> None:
    """Show the signals behind a strategy's decisions (why it moved).

    TARGET is a config file, config name or strategy name, as for `playbook run`.
    """
    import warnings

    from engine.core.schedule import build_schedule
    from engine.core.signals import MissingInputWarning
    from engine.research.explain import format_decisions, latest_signals, plot_signals
    from engine.runs.backtest import prepare

    path, config, lines = resolve_target(target)
    config = override(config, data_dir=data_dir, start=start, end=end)
    strategy, panel = prepare(config, lines=lines, config_path=str(path or "config"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingInputWarning)
        schedule = build_schedule(strategy, panel, config.leverage_cap)
    label = "SYNTHETIC data: " if panel.synthetic else ""
    click.echo(f"{label}{strategy.name}: {strategy.thesis}")
    click.echo(format_decisions(schedule, panel.window_start, strategy))
    click.echo(latest_signals(schedule))
    if plot_path is not None:
        title = f"{label}{config.name or strategy.name}"
        click.echo(f"plot: {plot_signals(schedule, panel, plot_path, title, panel.window_start)}")


def _in_regime(config: Any, name: str) -> tuple[Any, Any]:
    """The config restricted to a regime of its source's catalog (plus its own regimes),
    and that source (the window does not change what the source holds)."""
    from engine.core.regimes import find_regime, merge_regimes
    from engine.runs.backtest import make_source

    source = make_source(config)
    catalog = merge_regimes(tuple(source.regimes()), config.regimes)
    regime = find_regime(name, catalog)
    _check_regime_has_data(config, source, regime, catalog)
    window = override(config, data_dir=None, start=str(regime.start), end=str(regime.end))
    return window, source


def _check_regime_has_data(config: Any, source: Any, regime: Any, catalog: tuple) -> None:
    """Refuse a regime that starts before an asset's first bar: the run would silently
    cover only part of it (or none), and its numbers would not be that regime's."""
    from engine.runs.backtest import make_strategy

    symbols = [*make_strategy(config).universe(), *([config.benchmark] if config.benchmark else [])]
    firsts = {s: source.prices(s).index[0].date() for s in dict.fromkeys(symbols)}
    if not firsts:
        return
    symbol, first = max(firsts.items(), key=lambda item: item[1])
    if regime.start >= first:
        return
    fits = [r.name for r in catalog if r.start >= first][:4]
    others = f"a regime that starts later ({', '.join(fits)}) or " if fits else ""
    end = f" --end {regime.end}" if regime.end > first else ""
    raise DataError(
        f"regime {regime.name} starts {regime.start} but {symbol}'s first bar is "
        f"{first}: the run would not cover the regime",
        f"choose {others}--start {first}{end} instead of --regime",
    )


def _regime_summary(result: Any) -> str:
    table = result.regimes
    if table is None or table.empty:
        return "per regime: no named regimes for this data"
    covered = table[table["coverage"] != "none"]
    if covered.empty:
        return f"per regime: the window covers none of the {len(table)} named regimes"
    lines = [f"  {'regime':<18}{'return':>9}{'max dd':>9}{'bench':>9}  coverage"]
    for row in covered.to_dict("records"):
        lines.append(
            f"  {row['regime']:<18}{fmt('{:+.1%}', row['return']):>9}"
            f"{fmt('{:.1%}', row['max_drawdown']):>9}"
            f"{fmt('{:+.1%}', row['benchmark_return']):>9}  {row['coverage']}"
        )
    skipped = len(table) - len(covered)
    if skipped:
        lines.append(
            f"  ({skipped} regimes outside the window: not covered, shown as such in regimes.csv)"
        )
    return "\n".join(lines)


def _summary(result: Any) -> str:
    stats = result.stats
    rows = [("", result.strategy.name, stats.get("benchmark", {}).get("symbol", "-"))]
    bench = stats.get("benchmark", {})
    for key, label, form in (
        ("total_return", "total return", "{:+.1%}"),
        ("cagr", "CAGR", "{:+.2%}"),
        ("volatility", "volatility", "{:.1%}"),
        ("sharpe", "Sharpe", "{:.2f}"),
        ("max_drawdown", "max drawdown", "{:.1%}"),
    ):
        rows.append((label, fmt(form, stats.get(key)), fmt(form, bench.get(key))))
    width = max(len(r[1]) for r in rows) + 2
    lines = [result.title]
    lines += [f"  {a:<14}{b:>{width}}{c:>{width}}" for a, b, c in rows]
    return "\n".join(lines)

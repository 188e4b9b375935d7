"""`playbook scenario`: a playbook on futures that have not happened, over many paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli.options import DATA_DIR, EXECUTOR, RESULTS_DIR, SCHEDULER
from engine.cli.output import command_line
from engine.cli.scenario_table import scenario_table
from engine.cli.targets import resolve_target


@click.group()
def scenario() -> None:
    """Stress a playbook on futures that have not happened, over many paths."""


scenario.add_command(scenario_table)


@scenario.command(name="list")
def scenario_list() -> None:
    """List the named scenarios (configs/scenarios/*.yaml)."""
    from engine.markets import load_scenario, scenario_names

    for name in scenario_names():
        click.echo(f"{name:<20} {load_scenario(name).description.splitlines()[0]}")


@scenario.command(name="run")
@click.argument("target")
@click.option(
    "--scenario",
    "scenario_name",
    default="ai-credit-crunch",
    show_default=True,
    help="A scenario name (`playbook scenario list`) or YAML file.",
)
@click.option(
    "--paths",
    type=click.IntRange(1, 100_000),
    default=200,
    show_default=True,
    help="How many paths to generate.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="Seed of the paths (default: the scenario's own seed, so path 0 is the market "
    "`playbook run` uses by default; 0 for --generator bootstrap).",
)
@click.option(
    "--generator",
    type=click.Choice(["regime", "bootstrap"]),
    default="regime",
    show_default=True,
    help="regime: the scenario's regime-switching model; bootstrap: block bootstrap "
    "of real history from --data-dir.",
)
@DATA_DIR
@click.option(
    "--block-days",
    type=click.IntRange(2, 250),
    default=20,
    show_default=True,
    help="Mean block length of the bootstrap, days.",
)
@RESULTS_DIR
@EXECUTOR
@SCHEDULER
def scenario_run(
    target: str,
    scenario_name: str,
    paths: int,
    seed: int | None,
    generator: str,
    data_dir: Path | None,
    block_days: int,
    results_dir: Path | None,
    executor: str,
    scheduler: str | None,
) -> None:
    """Run a playbook (config or strategy name) on many generated paths.

    Writes a folder with the distribution of outcomes (CAGR, max drawdown, final wealth
    percentiles, probability of beating the benchmark), a fan chart, the exposure held in
    each scenario phase and the median path's tearsheet.
    """
    from engine.io.progress import work_progress
    from engine.reports.scenario import headline, write_scenario_folder
    from engine.runs.cluster import check_executor
    from engine.runs.paths import run_paths
    from engine.runs.store import default_results_dir
    from engine.workflows.scenario import check_generator, make_paths, path_seed

    check_executor(executor, scheduler)
    check_generator(generator, executor)
    _path, config, _lines = resolve_target(target)
    seed = path_seed(scenario_name, seed, generator)
    markets, label = make_paths(config, scenario_name, paths, seed, generator, data_dir, block_days)
    with work_progress() as progress:
        task = progress.add_task("paths", total=paths)
        outcome = run_paths(
            config,
            markets,
            label,
            seed,
            on_chunk=lambda done, _total: progress.update(task, completed=done),
            executor=executor,
            scheduler=scheduler,
        )
    for note in outcome.notes:
        click.echo(f"note: {note}", err=True)
    command = command_line("playbook scenario run")
    folder = write_scenario_folder(outcome, results_dir or default_results_dir(), command)
    summary: dict[str, Any] = headline(outcome)
    pct = summary["percentiles"]
    click.echo(f"SYNTHETIC scenario {label}: {outcome.strategy} on {paths} paths (seed {seed})")
    click.echo(
        f"  CAGR median {pct['CAGR']['p50']:+.1%} (5th {pct['CAGR']['p5']:+.1%}, "
        f"95th {pct['CAGR']['p95']:+.1%}); max drawdown median "
        f"{pct['max drawdown']['p50']:.1%}"
    )
    if "probability_beat_benchmark" in summary:
        click.echo(f"  P(beat {summary['benchmark']}) {summary['probability_beat_benchmark']:.0%}")
    exposure = summary["exposure_by_phase"]
    click.echo("  exposure by phase: " + ", ".join(f"{k} {v:.0%}" for k, v in exposure.items()))
    click.echo(f"scenario folder: {folder}")

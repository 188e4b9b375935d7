"""`playbook scenario table`: one table of playbooks x named scenarios on the same paths.

One command, two shapes: one playbook across scenarios (rows are scenarios) or several
playbooks on one scenario (rows are playbooks); several of both gives the whole grid.
"""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import RESULTS_DIR
from engine.cli.output import command_line
from engine.cli.targets import resolve_target


@click.command(name="table")
@click.argument("playbooks", nargs=-1, required=True, metavar="PLAYBOOK...")
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    help="A named scenario (`playbook scenario list`) or YAML file; repeat for several; "
    "'all' (the default) is every named scenario.",
)
@click.option(
    "--paths",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Paths per cell (every cell runs on the same paths).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**63 - 1),
    default=None,
    help="Seed of the paths for every cell (default: each scenario's own seed, as `playbook "
    "scenario run` uses, so a cell is the figure it prints). Playbooks on one scenario always "
    "share its paths.",
)
@RESULTS_DIR
def scenario_table(
    playbooks: tuple[str, ...],
    scenarios: tuple[str, ...],
    paths: int,
    seed: int | None,
    results_dir: Path | None,
) -> None:
    """Playbooks x named scenarios in one table, on the same paths.

    \b
    playbook scenario table hayes-pivot                       # across every scenario
    playbook scenario table --scenario stagflation hayes-pivot 60-40   # side by side

    Per cell: median CAGR and its 5th-95th percentile range, median and 5th-percentile max
    drawdown, P(loss), P(beat benchmark), the benchmark's median CAGR and the exposure held
    in each scenario phase. Writes scenarios.html, scenarios.csv and each cell's numbers.
    """
    from engine.io.progress import work_progress
    from engine.reports.scenario_table import table_frame, terminal_table
    from engine.runs.backtest import config_label
    from engine.runs.store import default_results_dir
    from engine.workflows.scenario_table import run_table, scenario_list, write_table_folder

    resolved = []
    for target in dict.fromkeys(playbooks):  # every name checked before any path runs
        path, config, _lines = resolve_target(target)
        resolved.append((config_label(path, config), config))
    names = scenario_list(list(scenarios))
    with work_progress() as progress:
        task = progress.add_task("paths", total=paths * len(resolved) * len(names))
        cells = run_table(
            resolved,
            names,
            paths,
            seed,
            on_paths=lambda done, _total: progress.update(task, completed=done),
        )
    for note in dict.fromkeys(note for cell in cells for note in cell.outcome.notes):
        click.echo(f"note: {note}", err=True)
    command = command_line("playbook scenario table")
    folder = write_table_folder(cells, results_dir or default_results_dir(), command)
    click.echo(terminal_table(table_frame(cells)))
    click.echo(f"scenario table folder: {folder}")

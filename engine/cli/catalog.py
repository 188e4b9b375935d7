"""The listings: what can be run (strategies, configs), the regimes, and the runs made."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import RESULTS_DIR


@click.command()
@click.argument("specs", nargs=-1)
def strategies(specs: tuple[str, ...]) -> None:
    """List strategies with their theses, parameters and where each came from.

    SPECS (optional): your own, as path/to/file.py[:Class] or package.module:Class; without
    them, the built-ins and installed entry points (`playbook.strategies`).
    """
    from engine.runs.strategy_loader import absolute_spec, available, resolve

    found = (
        {spec: resolve(absolute_spec(spec, Path.cwd())) for spec in specs} if specs else available()
    )
    for key, (cls, origin) in found.items():
        name = cls.name if specs else key
        click.echo(f"{name}: {cls.thesis}")
        click.echo(f"    from {origin.describe()}")
        for field_name, field in cls.Params.model_fields.items():
            default = field.get_default(call_default_factory=True)
            doc = f"  {field.description}" if field.description else ""
            click.echo(f"    {field_name} = {default!r}{doc}")


@click.command()
def configs() -> None:
    """List the run configs that `playbook run NAME` finds."""
    from engine.runs.config import config_dirs

    seen = set()
    for folder in config_dirs():
        for path in sorted(folder.glob("*.yaml")):
            if path.stem not in seen:
                seen.add(path.stem)
                click.echo(f"{path.stem}: {path}")


@click.command()
def regimes() -> None:
    """List the named regimes per-regime tables and `run --regime` use."""
    from engine.core.regimes import embedded_regimes

    for regime in embedded_regimes():
        click.echo(f"{regime.name:<18} {regime.start} to {regime.end}  {regime.description}")
    click.echo(
        "(synthetic runs use their scenario's phases; add your own with `regimes:` in a config)"
    )


@click.command(name="runs")
@RESULTS_DIR
def runs_command(results_dir: Path | None) -> None:
    """List past runs: id, strategy, dates, data, headline metrics (newest first)."""
    from engine.reports.compare import list_runs, runs_table
    from engine.runs.store import default_results_dir

    records = list_runs(results_dir or default_results_dir())
    click.echo(runs_table(records) if records else "no runs yet: try `playbook run 60-40`")

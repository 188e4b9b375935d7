"""`playbook new`: start your own playbook from a working example (files by `scaffold`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def new() -> None:
    """Start your own playbook from a working example."""


@new.command(name="strategy")
@click.argument("name")
@click.option(
    "--dir",
    "folder",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the files (created if needed).",
)
def new_strategy(name: str, folder: Path) -> None:
    """Write NAME's strategy file, a config that runs at once and a test; never overwrites.

    NAME: lowercase letters, digits, '-' or '_' (qqq-trend writes qqq_trend.py); not a
    Python keyword nor the name of an installed module (its file would hide it).
    """
    from engine.cli.scaffold import new_strategy as write

    for path in write(name, folder):
        click.echo(f"wrote {path}")
    config = folder / f"{name}.yaml"
    click.echo(f"next: playbook run {config} && python -m pytest {folder}")
    click.echo(f"then, on real data: playbook check {config} --data-dir ../shared/data")

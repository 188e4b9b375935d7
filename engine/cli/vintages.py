"""`playbook vintages`: macro data as it was published, and what revisions do to a run."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import CACHE, DATA_DIR
from engine.cli.targets import override, resolve_target


@click.group()
def vintages() -> None:
    """Macro data as it was published (ALFRED vintages): how much revisions change a run."""


@vintages.command(name="sensitivity")
@click.argument("target")
@DATA_DIR
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="Most moved decisions to list.",
)
def vintages_sensitivity(target: str, data_dir: Path | None, limit: int) -> None:
    """Run TARGET on as_of, first_release and latest macro data, side by side.

    Lists the decisions that moved (date, weights under each mode) and each mode's CAGR,
    final wealth and max drawdown. TARGET is a config, as for `playbook run`.
    """
    from engine.research.vintage_sensitivity import format_sensitivity, run_sensitivity

    path, config, lines = resolve_target(target)
    config = override(config, data_dir=data_dir, start=None, end=None)
    result = run_sensitivity(config, lines, str(path or "config"))
    click.echo(format_sensitivity(result, limit))


@vintages.command(name="fetch")
@click.argument("series_ids", nargs=-1, required=True)
@CACHE
def vintages_fetch(series_ids: tuple[str, ...], cache_dir: Path | None) -> None:
    """Download every ALFRED vintage of SERIES_IDS into the cache (needs FRED_API_KEY).

    `playbook data export DIR` then writes them as DIR/macro/vintages/<ID>.csv.
    """
    from engine.data.alfred import AlfredVintages
    from engine.data.cache import DataCache

    cache, alfred = DataCache(cache_dir), AlfredVintages()
    for series_id in series_ids:
        table = alfred.fetch(series_id)
        entry = cache.write_vintages(series_id.strip().upper(), table, {"provider": "ALFRED"})
        click.echo(
            f"{entry.symbol}: {entry.rows} vintage rows, {table['realtime_start'].nunique()} "
            f"vintages, {entry.first} to {entry.last} -> {entry.path}"
        )

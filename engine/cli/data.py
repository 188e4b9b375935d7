"""`playbook data`: the local cache of Yahoo Finance and FRED downloads."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import CACHE
from engine.cli.targets import resolve_target


@click.group()
def data() -> None:
    """The local cache of Yahoo Finance and FRED downloads (configs with `source: yahoo`)."""


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option(
    "--config",
    "config_target",
    default=None,
    help="Also fetch everything this run config (file or name) needs.",
)
@CACHE
def data_fetch(names: tuple[str, ...], config_target: str | None, cache_dir: Path | None) -> None:
    """Download NAMES into the cache, or top up what is cached.

    NAMES are Yahoo symbols (SPY, ^GSPC, BTC-USD) and FRED ids (DTB3, WALCL; write
    fred:ID for an id playbook does not know). All symbols go in one Yahoo request.
    """
    from engine.data.cache import DataCache
    from engine.data.online import (
        fetch_symbols,
        format_fetch_report,
        rich_progress,
        split_ids,
    )
    from engine.runs.backtest import symbols_for_config

    symbols, macro = split_ids(names)
    if config_target is not None:
        _, config, _ = resolve_target(config_target)
        more_symbols, more_macro = symbols_for_config(config)
        symbols = list(dict.fromkeys([*symbols, *more_symbols]))
        macro = list(dict.fromkeys([*macro, *more_macro]))
        if cache_dir is None and config.data.source == "yahoo":
            cache_dir = config.data.cache
    if not symbols and not macro:
        raise click.UsageError("give symbols or FRED ids to fetch, or --config FILE")
    with rich_progress() as progress:
        report = fetch_symbols(DataCache(cache_dir), symbols, macro, progress)
    click.echo(format_fetch_report(report))


@data.command("list")
@CACHE
def data_list(cache_dir: Path | None) -> None:
    """List the cached series: symbol, source, first, last, rows, fetched_at."""
    from engine.data.cache import DataCache
    from engine.data.online import list_cache

    click.echo(list_cache(DataCache(cache_dir)))


@data.command("export")
@click.argument("out_dir", type=click.Path(path_type=Path))
@CACHE
def data_export(out_dir: Path, cache_dir: Path | None) -> None:
    """Write the cache as a data directory (prices/, macro/) for --data-dir."""
    from engine.data.cache import DataCache
    from engine.data.export import export_cache

    click.echo(export_cache(DataCache(cache_dir), out_dir).summary())

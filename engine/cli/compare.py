"""`playbook compare`: runs side by side, on their common window, in the terminal and a page."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import RESULTS_DIR


@click.command()
@click.argument("runs", nargs=-1)
@click.option(
    "--latest", type=click.IntRange(1, 10_000), default=None, help="Also compare the N newest runs."
)
@RESULTS_DIR
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The HTML page [default: <results-dir>/compare-<time>.html].",
)
def compare(
    runs: tuple[str, ...], latest: int | None, results_dir: Path | None, out_path: Path | None
) -> None:
    """Compare runs side by side: metrics, equity, drawdowns, regimes, config diff.

    RUNS are run folders, run ids or unique id prefixes (`playbook runs` lists them).
    Runs on different dates are compared on their common window, and the page says so.
    """
    import datetime as dt

    from engine.reports.compare import (
        compare_runs,
        format_comparison,
        load_run,
        resolve_runs,
        write_compare_page,
    )
    from engine.runs.store import default_results_dir

    root = results_dir or default_results_dir()
    folders = resolve_runs(list(runs), root, latest)
    comparison = compare_runs([load_run(folder) for folder in folders])
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    page = write_compare_page(comparison, out_path or root / f"compare-{stamp}.html")
    click.echo(format_comparison(comparison))
    click.echo(f"compare page: {page}")

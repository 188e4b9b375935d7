"""`playbook report`: documents built from runs (the results gallery, a run's pages)."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import DATA_DIR, real_data_dir
from engine.errors import ConfigError


@click.group()
def report() -> None:
    """Documents built from runs (the results gallery)."""


@report.command()
@DATA_DIR
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=Path("docs"),
    show_default=True,
    help="Where results.md and img/ go.",
)
@click.option(
    "--screenshots",
    is_flag=True,
    help="Also photograph the run page and the sweep report into img/ (needs chromium).",
)
def gallery(data_dir: Path | None, out_dir: Path, screenshots: bool) -> None:
    """Regenerate docs/results.md: each playbook vs its baselines, overall and per regime."""
    from engine.data.sources import DirectorySource
    from engine.research.gallery import build_gallery
    from engine.runs.config import config_dirs

    data_dir = real_data_dir(data_dir)
    DirectorySource(data_dir)  # fails early, in one line, if the folder is not a data set
    configs = next((d for d in config_dirs() if (d / "hayes-pivot.yaml").is_file()), None)
    if configs is None:
        raise ConfigError(
            "the playbook configs (configs/*.yaml) were not found", "run from the project folder"
        )
    click.echo(f"wrote {build_gallery(data_dir, out_dir, configs)}")
    if screenshots:
        from engine.research.shots import write_page_screenshots

        try:
            shots = write_page_screenshots(out_dir / "img", data_dir)
        except RuntimeError as exc:  # no chromium: the document is written, the pictures not
            raise ConfigError(str(exc), "install chromium, or run without --screenshots") from exc
        for shot in shots:
            click.echo(f"wrote {shot}")


@report.command("tearsheet")
@click.argument("run_folder", type=click.Path(path_type=Path))
def report_tearsheet(run_folder: Path) -> None:
    """Draw (again) RUN_FOLDER's tearsheet.html and equity.png from its own files.

    For a run made with --no-report, or drawn by an older playbook."""
    from engine.workflows.run import write_folder_reports

    _require_run_files(run_folder, "returns.parquet", "weights.parquet", "stats.json", "run.json")
    write_folder_reports(run_folder)
    click.echo(f"wrote {run_folder / 'tearsheet.html'} and {run_folder / 'equity.png'}")


@report.command("page")
@click.argument("run_folder", type=click.Path(path_type=Path))
def report_page(run_folder: Path) -> None:
    """(Re)write RUN_FOLDER's run.html: decisions, regimes, exposure, drawdown, contributions.

    Read from the folder's own files only (engine.reports.pages.run); opens offline in a browser."""
    from engine.reports.pages.run import write_run_page

    _require_run_files(
        run_folder,
        *("returns.parquet", "weights.parquet", "targets.parquet", "events.parquet"),
        *("stats.json", "run.json"),
    )
    click.echo(f"wrote {write_run_page(run_folder)}")


def _require_run_files(run_folder: Path, *needed: str) -> None:
    """Refuse a folder that lacks any of the run files a report command reads."""
    missing = [name for name in needed if not (run_folder / name).is_file()]
    if missing:
        raise ConfigError(
            f"{run_folder} is not a run folder (no {', '.join(missing)})",
            "give a folder `playbook run` wrote, e.g. results/<run-id>",
        )

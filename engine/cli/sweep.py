"""`playbook sweep`: a playbook's parameter grid, sharded or not, and the merge of shards."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.options import DATA_DIR, EXECUTOR, FAIL_BELOW_DSR, SCHEDULER
from engine.cli.output import fmt
from engine.errors import ExitCode


class SweepGroup(click.Group):
    """`playbook sweep FILE ...` runs a sweep; `playbook sweep merge DIR...` joins shards."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=SweepGroup)
def sweep() -> None:
    """Sweep a playbook's parameters: `playbook sweep configs/sweeps/NAME.yaml [options]`.

    \b
    playbook sweep FILE [--shard K/N] [--out DIR] [--executor dask --scheduler ADDR]
                        [--fail-below-dsr X] [--rerun-best N]
    playbook sweep merge SHARD_DIR... --out DIR
    """


@sweep.command(name="run")
@click.argument("spec_file", type=click.Path(path_type=Path))
@DATA_DIR
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Sweep folder [default: results/sweeps/<name>-<hash>]; rerun to resume.",
)
@click.option("--shard", default=None, help="Run only shard K of N (K/N), for CI matrices.")
@EXECUTOR
@SCHEDULER
@FAIL_BELOW_DSR
@click.option(
    "--rerun-best",
    type=click.IntRange(0, 1000),
    default=0,
    show_default=True,
    help="Re-run the N best sets as normal run folders with tearsheets.",
)
def sweep_run(
    spec_file: Path,
    data_dir: Path | None,
    out_dir: Path | None,
    shard: str | None,
    executor: str,
    scheduler: str | None,
    fail_below_dsr: float | None,
    rerun_best: int,
) -> None:
    """Run a sweep file (see configs/sweeps/)."""
    from engine.io.progress import work_progress
    from engine.workflows.sweep import sweep_to_folder

    summary, folder = sweep_to_folder(
        spec_file,
        data_dir=data_dir,
        out_dir=out_dir,
        shard=_parse_shard(shard),
        executor=executor,
        scheduler=scheduler,
        rerun_best=rerun_best,
        progress=work_progress(),
        on_note=lambda note: click.echo(f"note: {note}", err=True),
    )
    _finish_sweep(summary, folder, fail_below_dsr)


@sweep.command(name="merge")
@click.argument("shard_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the merged sweep.",
)
@FAIL_BELOW_DSR
def sweep_merge(shard_dirs: tuple[Path, ...], out_dir: Path, fail_below_dsr: float | None) -> None:
    """Join the folders of `--shard K/N` runs into one sweep table and summary."""
    from engine.workflows.sweep import merge_to_folder

    summary = merge_to_folder(list(shard_dirs), out_dir)
    _finish_sweep(summary, out_dir, fail_below_dsr)


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise click.BadParameter(f"{text!r} is not K/N (e.g. 2/4)", param_hint="--shard") from None
    if not 1 <= k <= n:
        raise click.BadParameter(f"{text}: need 1 <= K <= N", param_hint="--shard")
    return k, n


def _finish_sweep(summary: dict | None, folder: Path, fail_below_dsr: float | None) -> None:
    if summary is None:
        click.echo(f"shard done: {folder} (merge the shards with `playbook sweep merge`)")
        return
    best = summary["best"]
    dsr = summary["deflated_sharpe"]
    from engine.sweep.summary import has_best

    metric = summary["metric"]
    if not has_best(summary):
        click.echo(
            f"{summary['trials']} parameter sets; none has a {metric} (flat excess returns: "
            f"no set took a position?); the first: {best['params']}"
        )
    else:
        click.echo(f"{summary['trials']} parameter sets; best by {metric}: {best['params']}")
    click.echo(
        f"  Sharpe {fmt('{:.2f}', best.get('sharpe'))}  CAGR "
        f"{fmt('{:+.2%}', best.get('cagr'))}  max drawdown "
        f"{fmt('{:.1%}', best.get('max_drawdown'))}"
    )
    click.echo(
        f"  deflated Sharpe ratio {fmt('{:.3f}', dsr)}  probability of backtest "
        f"overfitting {fmt('{:.2f}', summary['pbo'])}"
    )
    click.echo(f"sweep folder: {folder}")
    if fail_below_dsr is not None and (dsr is None or dsr < fail_below_dsr):
        click.echo(
            f"error: deflated Sharpe ratio {fmt('{:.3f}', dsr)} is below "
            f"{fail_below_dsr} (fix: the best set is likely luck; widen the data or "
            "narrow the grid)",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.GATE))

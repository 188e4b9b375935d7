"""The `playbook` command: thin commands that parse, validate and delegate.

Every user mistake ends in one line on stderr, `error: <problem> (fix: <fix>)`, and a
documented exit code (see `engine.errors.ExitCode` and the README); tracebacks only with
`--debug`. Heavy modules (vectorbt, quantstats) are imported inside commands so that
`playbook --help` answers at once. Library side effects a command-line run wants (the GC's
thresholds, declined optional imports, numba's cache folder) are made in `main` only, so
importing `engine` in a notebook leaves every library as it was.
"""

from __future__ import annotations

import errno
import gc
import math
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click

from engine.errors import ConfigError, DataError, ExitCode, PlaybookError, from_os_error


class PlaybookGroup(click.Group):
    """Turns every failure into one clear line and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # one line too, not click's four-line usage block
            if debug:
                raise
            where = exc.ctx.command_path if exc.ctx else ctx.command_path
            text = " ".join(exc.format_message().split())
            click.echo(f"error: {text} (fix: see `{where} --help`)", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except PlaybookError as exc:
            if debug:
                raise
            click.echo(f"error: {exc.one_line()}", err=True)
            ctx.exit(int(exc.exit_code))
        except KeyboardInterrupt:
            click.echo("interrupted: nothing half-written was left", err=True)
            ctx.exit(int(ExitCode.INTERRUPTED))
        except OSError as exc:  # unreadable, full, too long, closed pipe: one place for all
            if debug:
                raise
            if exc.errno == errno.EPIPE:
                _silence_stdout()
            click.echo(f"error: {from_os_error(exc).one_line()}", err=True)
            ctx.exit(int(ExitCode.OUTPUT))
        except Exception as exc:
            if debug:
                raise
            first = str(exc).splitlines()[0] if str(exc) else ""
            click.echo(
                f"internal error: {type(exc).__name__}: {first} (fix: rerun with --debug "
                "and report the traceback)",
                err=True,
            )
            ctx.exit(int(ExitCode.INTERNAL))


@click.group(cls=PlaybookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(package_name="playbook")
def cli(debug: bool) -> None:
    """Backtest macro playbooks through real regimes, point in time.

    \b
    Exit codes: 0 ok, 1 internal error, 2 bad usage or config, 3 bad or missing data,
    4 network, 5 cannot read or write a file, 6 impossible strategy order, 7 gate failed,
    130 interrupted.
    """
    _interruptible()


def _interruptible() -> None:
    """Ctrl-C (SIGINT) always interrupts, ending in exit 130 and nothing half-written.

    A shell starts background jobs (`playbook sweep ... &`) with SIGINT ignored, so a
    `kill -INT` used to be lost and the command ran on to exit 0.
    """
    import threading

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _silence_stdout() -> None:
    """After a closed pipe, point stdout at /dev/null so exiting does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (e.g. under CliRunner)
        pass


class FiniteFloat(click.ParamType):
    """A float that is a number: nan and inf would make every comparison pass or fail."""

    name = "number"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float) and math.isfinite(value):
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


@cli.command()
@click.argument("target")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Read real history from this folder (prices/, macro/).",
)
@click.option("--start", default=None, help="First day of the window (YYYY-MM-DD).")
@click.option("--end", default=None, help="Last day of the window (YYYY-MM-DD).")
@click.option(
    "--results-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where run folders go [default: ./results or $PLAYBOOK_RESULTS].",
)
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

    path, config, lines = _resolve_target(target)
    if regime is not None and (start or end):
        raise click.UsageError("give either --regime or --start/--end, not both")
    config = _override(
        config, data_dir=data_dir, start=start, end=end, offline=offline, refresh=refresh
    )
    source = None  # built once: a --regime run reads the regimes from the same source
    if regime is not None:
        config, source = _in_regime(config, regime)
    command = "playbook " + " ".join(sys.argv[1:]) if sys.argv else "playbook run"
    folder, result = run_to_folder(
        config,
        path,
        lines,
        results_dir=results_dir,
        report=not no_report,
        command=command,
        source=source,
    )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(_summary(result))
    click.echo(_regime_summary(result))
    click.echo(f"run folder: {folder}")


@cli.command()
@click.argument("target")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Read real history from this folder (prices/, macro/).",
)
@click.option("--start", default=None, help="Show decisions from this day (YYYY-MM-DD).")
@click.option("--end", default=None, help="Last day of data (YYYY-MM-DD).")
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

    path, config, lines = _resolve_target(target)
    config = _override(config, data_dir=data_dir, start=start, end=end)
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


@cli.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("../shared/data"),
    show_default=True,
    help="Folder with prices/ and macro/ to measure on.",
)
@click.option(
    "--claims-file",
    type=click.Path(path_type=Path),
    default=None,
    help="A YAML file of your own claims, checked after the built-in ones.",
)
def claims(data_dir: Path, claims_file: Path | None) -> None:
    """Check the theses' numeric claims on the data and say which reproduce.

    Each claim prints the number measured, the window and method, whether it reproduced and
    which method comes closest. Add claims in a YAML file like engine/reference/claims.yaml.
    """
    from engine.data.sources import DirectorySource
    from engine.research.claims import check_claims, format_claims, load_claims

    if claims_file is not None and not claims_file.is_file():
        raise ConfigError(f"claims file {claims_file} not found", "check the path")
    results = check_claims(DirectorySource(data_dir), load_claims(extra=claims_file))
    click.echo(format_claims(results))


@cli.command()
def regimes() -> None:
    """List the named regimes per-regime tables and `run --regime` use."""
    from engine.core.regimes import embedded_regimes

    for regime in embedded_regimes():
        click.echo(f"{regime.name:<18} {regime.start} to {regime.end}  {regime.description}")
    click.echo(
        "(synthetic runs use their scenario's phases; add your own with `regimes:` in a config)"
    )


@cli.command()
@click.argument("runs", nargs=-1)
@click.option(
    "--latest", type=click.IntRange(1, 10_000), default=None, help="Also compare the N newest runs."
)
@click.option(
    "--results-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where run folders are [default: ./results or $PLAYBOOK_RESULTS].",
)
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


@cli.command(name="runs")
@click.option(
    "--results-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where run folders are [default: ./results or $PLAYBOOK_RESULTS].",
)
def runs_command(results_dir: Path | None) -> None:
    """List past runs: id, strategy, dates, data, headline metrics (newest first)."""
    from engine.reports.compare import list_runs, runs_table
    from engine.runs.store import default_results_dir

    records = list_runs(results_dir or default_results_dir())
    click.echo(runs_table(records) if records else "no runs yet: try `playbook run 60-40`")


@cli.group()
def scenario() -> None:
    """Stress a playbook on futures that have not happened, over many paths."""


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
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="History to bootstrap from (with --generator bootstrap).",
)
@click.option(
    "--block-days",
    type=click.IntRange(2, 250),
    default=20,
    show_default=True,
    help="Mean block length of the bootstrap, days.",
)
@click.option(
    "--results-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where the scenario folder goes [default: ./results/scenarios].",
)
def scenario_run(
    target: str,
    scenario_name: str,
    paths: int,
    seed: int | None,
    generator: str,
    data_dir: Path | None,
    block_days: int,
    results_dir: Path | None,
) -> None:
    """Run a playbook (config or strategy name) on many generated paths.

    Writes a folder with the distribution of outcomes (CAGR, max drawdown, final wealth
    percentiles, probability of beating the benchmark), a fan chart, the exposure held in
    each scenario phase and the median path's tearsheet.
    """
    from engine.io.progress import work_progress
    from engine.reports.scenario import headline, write_scenario_folder
    from engine.runs.paths import run_paths
    from engine.runs.store import default_results_dir
    from engine.workflows.scenario import make_paths

    _path, config, _lines = _resolve_target(target)
    if seed is None:
        from engine.markets import load_scenario

        seed = 0 if generator == "bootstrap" else load_scenario(scenario_name).seed
    markets, label = make_paths(config, scenario_name, paths, seed, generator, data_dir, block_days)
    with work_progress() as progress:
        task = progress.add_task("paths", total=paths)
        outcome = run_paths(
            config,
            markets,
            label,
            seed,
            on_chunk=lambda done, _total: progress.update(task, completed=done),
        )
    command = "playbook " + " ".join(sys.argv[1:]) if sys.argv else "playbook scenario run"
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


class SweepGroup(click.Group):
    """`playbook sweep FILE ...` runs a sweep; `playbook sweep merge DIR...` joins shards."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@cli.group(cls=SweepGroup)
def sweep() -> None:
    """Sweep a playbook's parameters: `playbook sweep configs/sweeps/NAME.yaml [options]`.

    \b
    playbook sweep FILE [--shard K/N] [--out DIR] [--executor dask --scheduler ADDR]
                        [--fail-below-dsr X] [--rerun-best N]
    playbook sweep merge SHARD_DIR... --out DIR
    """


@sweep.command(name="run")
@click.argument("spec_file", type=click.Path(path_type=Path))
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Run the base config on this data folder (prices/, macro/).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Sweep folder [default: results/sweeps/<name>-<hash>]; rerun to resume.",
)
@click.option("--shard", default=None, help="Run only shard K of N (K/N), for CI matrices.")
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Where chunks run.",
)
@click.option("--scheduler", default=None, help="dask.distributed scheduler address.")
@click.option(
    "--fail-below-dsr",
    type=FiniteFloat(),
    default=None,
    help="Exit 7 when the best set's deflated Sharpe ratio is below this.",
)
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
@click.option(
    "--fail-below-dsr",
    type=FiniteFloat(),
    default=None,
    help="Exit 7 when the best set's deflated Sharpe ratio is below this.",
)
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
    click.echo(f"{summary['trials']} parameter sets; best by {summary['metric']}: {best['params']}")
    click.echo(
        f"  Sharpe {_fmt('{:.2f}', best.get('sharpe'))}  CAGR "
        f"{_fmt('{:+.2%}', best.get('cagr'))}  max drawdown "
        f"{_fmt('{:.1%}', best.get('max_drawdown'))}"
    )
    click.echo(
        f"  deflated Sharpe ratio {_fmt('{:.3f}', dsr)}  probability of backtest "
        f"overfitting {_fmt('{:.2f}', summary['pbo'])}"
    )
    click.echo(f"sweep folder: {folder}")
    if fail_below_dsr is not None and (dsr is None or dsr < fail_below_dsr):
        click.echo(
            f"error: deflated Sharpe ratio {_fmt('{:.3f}', dsr)} is below "
            f"{fail_below_dsr} (fix: the best set is likely luck; widen the data or "
            "narrow the grid)",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.GATE))


@cli.group()
def report() -> None:
    """Documents built from runs (the results gallery)."""


@report.command()
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=Path("../shared/data"),
    show_default=True,
    help="Folder with prices/ and macro/ (real history).",
)
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
def gallery(data_dir: Path, out_dir: Path, screenshots: bool) -> None:
    """Regenerate docs/results.md: each playbook vs its baselines, overall and per regime."""
    from engine.data.sources import DirectorySource
    from engine.research.gallery import build_gallery
    from engine.runs.config import config_dirs

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


@cli.group()
def data() -> None:
    """The local cache of Yahoo Finance and FRED downloads (configs with `source: yahoo`)."""


CACHE_OPTION = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Cache folder [default: $PLAYBOOK_CACHE or the user cache dir].",
)


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option(
    "--config",
    "config_target",
    default=None,
    help="Also fetch everything this run config (file or name) needs.",
)
@CACHE_OPTION
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
        _, config, _ = _resolve_target(config_target)
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
@CACHE_OPTION
def data_list(cache_dir: Path | None) -> None:
    """List the cached series: symbol, source, first, last, rows, fetched_at."""
    from engine.data.cache import DataCache
    from engine.data.online import list_cache

    click.echo(list_cache(DataCache(cache_dir)))


@data.command("export")
@click.argument("out_dir", type=click.Path(path_type=Path))
@CACHE_OPTION
def data_export(out_dir: Path, cache_dir: Path | None) -> None:
    """Write the cache as a data directory (prices/, macro/) for --data-dir."""
    from engine.data.cache import DataCache
    from engine.data.export import export_cache

    click.echo(export_cache(DataCache(cache_dir), out_dir).summary())


@cli.command()
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


@cli.group()
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
    """Write NAME's strategy file, a config that runs at once and a test; never overwrites."""
    from engine.cli.scaffold import new_strategy as write

    for path in write(name, folder):
        click.echo(f"wrote {path}")
    config = folder / f"{name}.yaml"
    click.echo(f"next: playbook run {config} && python -m pytest {folder}")


@cli.command()
def configs() -> None:
    """List the run configs that `playbook run NAME` finds."""
    from engine.runs.config import config_dirs

    seen = set()
    for folder in config_dirs():
        for path in sorted(folder.glob("*.yaml")):
            if path.stem not in seen:
                seen.add(path.stem)
                click.echo(f"{path.stem}: {path}")


@cli.group()
def vintages() -> None:
    """Macro data as it was published (ALFRED vintages): how much revisions change a run."""


@vintages.command(name="sensitivity")
@click.argument("target")
@click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Read real history from this folder (prices/, macro/, macro/vintages/).",
)
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

    path, config, lines = _resolve_target(target)
    config = _override(config, data_dir=data_dir, start=None, end=None)
    result = run_sensitivity(config, lines, str(path or "config"))
    click.echo(format_sensitivity(result, limit))


@vintages.command(name="fetch")
@click.argument("series_ids", nargs=-1, required=True)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Cache folder (default: $PLAYBOOK_CACHE or the user cache).",
)
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


def _resolve_target(target: str) -> tuple[Path | None, Any, dict]:
    from engine.runs.backtest import default_config_for
    from engine.runs.config import find_config, load_run_config_with_lines
    from engine.runs.strategy_loader import is_path_spec

    path = find_config(target)
    if path is not None:
        config, lines = load_run_config_with_lines(path)
        return path, config, lines
    if is_path_spec(target):  # my_strategy.py[:Class] or package.module:Class, defaults
        return None, default_config_for(target), {}
    if target.endswith((".yaml", ".yml")) or os.sep in target:
        raise ConfigError(
            f"config file {target} not found", "check the path; see `playbook configs`"
        )
    try:
        return None, default_config_for(target), {}
    except ConfigError as exc:
        raise ConfigError(
            f"{target!r} is neither a config nor a strategy ({exc.problem})",
            f"{exc.fix}; `playbook configs` lists configs",
        ) from None


def _override(
    config: Any,
    *,
    data_dir: Path | None,
    start: str | None,
    end: str | None,
    offline: bool = False,
    refresh: bool = False,
) -> Any:
    from engine.io.yaml_models import validate
    from engine.runs.config import RunConfig

    data = config.model_dump()
    if data_dir is not None:
        data["data"] = {**data["data"], "source": "directory", "path": data_dir.resolve()}
    if offline:
        data["data"] = {**data["data"], "offline": True}
    if refresh:
        data["data"] = {**data["data"], "refresh": True}
    if start is not None:
        data["start"] = start
    if end is not None:
        data["end"] = end
    return validate(RunConfig, data, {}, "command line")


def _in_regime(config: Any, name: str) -> tuple[Any, Any]:
    """The config restricted to a regime of its source's catalog (plus its own regimes),
    and that source (the window does not change what the source holds)."""
    from engine.core.regimes import find_regime, merge_regimes
    from engine.runs.backtest import make_source

    source = make_source(config)
    catalog = merge_regimes(tuple(source.regimes()), config.regimes)
    regime = find_regime(name, catalog)
    _check_regime_has_data(config, source, regime, catalog)
    window = _override(config, data_dir=None, start=str(regime.start), end=str(regime.end))
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
            f"  {row['regime']:<18}{_fmt('{:+.1%}', row['return']):>9}"
            f"{_fmt('{:.1%}', row['max_drawdown']):>9}"
            f"{_fmt('{:+.1%}', row['benchmark_return']):>9}  {row['coverage']}"
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
    for key, label, fmt in (
        ("total_return", "total return", "{:+.1%}"),
        ("cagr", "CAGR", "{:+.2%}"),
        ("volatility", "volatility", "{:.1%}"),
        ("sharpe", "Sharpe", "{:.2f}"),
        ("max_drawdown", "max drawdown", "{:.1%}"),
    ):
        rows.append((label, _fmt(fmt, stats.get(key)), _fmt(fmt, bench.get(key))))
    width = max(len(r[1]) for r in rows) + 2
    lines = [result.title]
    lines += [f"  {a:<14}{b:>{width}}{c:>{width}}" for a, b, c in rows]
    return "\n".join(lines)


def _fmt(fmt: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return fmt.format(value)


# The cyclic GC's thresholds for a command-line run, one bounded job: young objects are still
# collected, but the full passes over the ~400k objects that importing pandas, numba and
# vectorbt creates are not repeated (with the defaults a warm 60-40 run made 6 of them,
# 0.5-0.7 s in all, freeing ~1k objects).
BOUNDED_GC = (50_000, 50, 1_000)


def main() -> None:
    """The `playbook` executable: the library side effects of a command-line run, then `cli`.

    numba caches its compiled kernels in the user cache folder (a user's NUMBA_CACHE_DIR
    wins); IPython and ipywidgets, optional to quantstats and seaborn and never used by a
    command, are declined (~0.7 s, `engine.cli.optional_imports`); the GC runs `BOUNDED_GC`."""
    from engine import numba_cache_dir
    from engine.cli.optional_imports import declined

    os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())
    gc.set_threshold(*BOUNDED_GC)
    try:
        with declined("IPython", "ipywidgets"):
            cli(prog_name="playbook")
    finally:
        # exiting: the interpreter's last collections would walk every object the imports
        # made (~0.5-1 s after vectorbt) to free memory the OS takes back anyway
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()

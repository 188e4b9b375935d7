"""The `playbook` group and `main`: one-line errors, exit codes and a run's library settings.

Every user mistake ends in one line on stderr, `error: <problem> (fix: <fix>)`, and a
documented exit code (see `engine.errors.ExitCode` and the README); tracebacks only with
`--debug`. The commands live one group to a module beside this one (run, compare, sweep,
scenario, data, report, claims, vintages, new, catalog) and import heavy modules (vectorbt,
quantstats) inside their bodies, so that `playbook --help` answers at once. Library side
effects a command-line run wants (the GC's thresholds, declined optional imports, numba's
cache folder) are made in `main` only, so importing `engine` in a notebook leaves every
library as it was.
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from engine.cli.catalog import configs, regimes, runs_command, strategies
from engine.cli.check import check
from engine.cli.claims import claims
from engine.cli.compare import compare
from engine.cli.data import data
from engine.cli.new import new
from engine.cli.report import report
from engine.cli.run import run, signals
from engine.cli.scenario import scenario
from engine.cli.sweep import sweep
from engine.cli.vintages import vintages
from engine.errors import ExitCode, PlaybookError, from_os_error


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
            # imported here: it reads Strategy (pandas), which `playbook --help` does without
            from engine.runs.strategy_failure import strategy_code_failure

            failed = strategy_code_failure(exc)  # the user's strategy raised: not our bug
            if failed is not None:
                click.echo(f"error: {failed.one_line()}", err=True)
                ctx.exit(int(failed.exit_code))
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
    4 network, 5 cannot read or write a file, 6 strategy failed, 7 gate failed,
    130 interrupted.
    """
    _interruptible()


for _command in (
    run,
    signals,
    compare,
    sweep,
    scenario,
    data,
    report,
    claims,
    check,
    vintages,
    new,
    strategies,
    configs,
    regimes,
    runs_command,
):
    cli.add_command(_command)


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


# The cyclic GC's thresholds for a command-line run, one bounded job: young objects are still
# collected, but the full passes over the ~400k objects that importing pandas, numba and
# vectorbt creates are not repeated (with the defaults a warm 60-40 run made 6 of them,
# 0.5-0.7 s in all, freeing ~1k objects).
BOUNDED_GC = (50_000, 50, 1_000)


@contextmanager
def command_line_settings() -> Iterator[None]:
    """The library settings of a command-line run, while the block runs: numba caches its
    compiled kernels in the user cache folder (a user's NUMBA_CACHE_DIR wins); IPython and
    ipywidgets, optional to quantstats and seaborn and never used by a command, are declined
    (~0.4 s here, `engine.cli.optional_imports`); the GC runs `BOUNDED_GC` (restored after).

    `main` runs every command in it; so do the benchmark children that time a command's
    work in-process (`benchmarks.sweep_child`), so their figures are the command's."""
    from engine import numba_cache_dir
    from engine.cli.optional_imports import declined

    os.environ.setdefault("NUMBA_CACHE_DIR", numba_cache_dir())
    thresholds = gc.get_threshold()
    gc.set_threshold(*BOUNDED_GC)
    try:
        with declined("IPython", "ipywidgets"):
            yield
    finally:
        gc.set_threshold(*thresholds)


def main() -> None:
    """The `playbook` executable: `cli` in the settings of a command-line run."""
    try:
        with command_line_settings():
            cli(prog_name="playbook")
    finally:
        # exiting: the interpreter's last collections would walk every object the imports
        # made (~0.5-1 s after vectorbt) to free memory the OS takes back anyway
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    main()

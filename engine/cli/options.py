"""The options several commands share, each defined once: one flag, one help text, one default.

A command takes one by decorating with it (`@DATA_DIR`). Options a single command uses stay
with that command, and so does `--out`, which names what each command writes (a page, a sweep
folder, the docs folder) and so means something different in each.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from engine.runs.cluster import EXECUTORS

# Where `playbook claims` and `playbook report gallery` read real history without --data-dir.
REAL_DATA_DIR = Path("../shared/data")

# Options whose flag recurs with a meaning of its command's own (see the module docstring).
# `scenario table`'s --scenario (several, 'all'), --seed (one for every cell) and --paths (per
# cell) differ from `scenario run`'s.
PER_COMMAND = frozenset({"--out", "--scenario", "--seed", "--paths"})


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


DATA_DIR = click.option(
    "--data-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Read real history from this folder (prices/, macro/) [default: the config's "
    f"source; {REAL_DATA_DIR} for claims and report gallery].",
)

RESULTS_DIR = click.option(
    "--results-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="The results folder: run folders, compare pages, scenarios/ "
    "[default: ./results or $PLAYBOOK_RESULTS].",
)

START = click.option("--start", default=None, help="First day of the window (YYYY-MM-DD).")

END = click.option("--end", default=None, help="Last day of the window (YYYY-MM-DD).")

CACHE = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Cache folder [default: $PLAYBOOK_CACHE or the user cache dir].",
)

FAIL_BELOW_DSR = click.option(
    "--fail-below-dsr",
    type=FiniteFloat(),
    default=None,
    help="Exit 7 when the best set's deflated Sharpe ratio is below this.",
)

EXECUTOR = click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default="local",
    show_default=True,
    help="Where chunks run: here, or on dask (a LocalCluster of this machine's cores, a "
    "worker per core, unless --scheduler names a cluster).",
)

SCHEDULER = click.option(
    "--scheduler",
    default=None,
    help="dask.distributed scheduler address (with --executor dask).",
)


def real_data_dir(data_dir: Path | None) -> Path:
    """The folder a command that always measures on real history reads."""
    return data_dir if data_dir is not None else REAL_DATA_DIR


# Every shared option above, for the test that each flag has one definition.
SHARED = (DATA_DIR, RESULTS_DIR, START, END, CACHE, FAIL_BELOW_DSR, EXECUTOR, SCHEDULER)

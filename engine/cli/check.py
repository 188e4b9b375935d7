"""`playbook check`: is a strategy honest on this data (repeatable, sweep = run, no look-ahead)?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from engine.cli.options import DATA_DIR, END, START
from engine.cli.targets import override, resolve_target
from engine.errors import ConfigError, ExitCode

# what to change when a check fails, by check
FIXES = {
    "no look-ahead": "compute each bar's signal from data up to that bar: trailing windows "
    "(rolling, shift(n) with n >= 0), never centered windows, bfill, or statistics of the "
    "whole series",
    "sweep = run": "keep a set's state on self, made in reset() from self.p; nothing on the "
    "class or in module globals, which every set of a sweep shares",
    "repeatable": "keep state on self, made in reset(), not on the class or in globals, and "
    "seed randomness from the params (np.random.default_rng(self.p.seed))",
}


@click.command()
@click.argument("target")
@DATA_DIR
@START
@END
@click.option(
    "--sets",
    "set_count",
    type=click.IntRange(min=1, max=100),
    default=8,
    show_default=True,
    help="With a sweep file: how many of its sets, spread over the grid.",
)
@click.option(
    "--cut",
    "cuts",
    multiple=True,
    metavar="DATE",
    help="Cut the data after DATE (repeat for several); default: days across the calendar "
    "and each asset's first weeks.",
)
def check(
    target: str,
    data_dir: Path | None,
    start: str | None,
    end: str | None,
    set_count: int,
    cuts: tuple[str, ...],
) -> None:
    """Check a strategy on its data for look-ahead and order effects.

    \b
    repeatable     a set decides alike run twice, and again after all the
                   other runs (no state on the class, no unseeded
                   randomness)
    sweep = run    the sets decided together, as `playbook sweep` does,
                   equal each set run alone, bit for bit
    no look-ahead  the data cut after day D changes no signal, event or
                   decision on or before D (exactly)

    TARGET is a config file, config name or strategy (as for `playbook run`), or a sweep
    file: its base config and up to --sets of its sets. Exit 7 when a check fails.
    """
    from engine.research.strategy_checks import check_strategy
    from engine.runs.backtest import make_source

    config, strategies = _target_sets(target, set_count, data_dir, start, end)
    days = [_day(c) for c in cuts] or None
    source = make_source(config)
    described = ", ".join(f"{k} {v}" for k, v in source.describe().items())
    label = "the SYNTHETIC market" if source.synthetic else f"real data ({described})"
    plural = "s" if len(strategies) > 1 else ""
    click.echo(
        f"checking {strategies[0].name} ({len(strategies)} parameter set{plural}) on {label}"
    )
    verdicts = check_strategy(strategies, config, source, days)
    for verdict in verdicts:
        mark = {True: "ok  ", False: "FAIL", None: "skip"}[verdict.passed]
        click.echo(f"{mark}  {verdict.check}: {verdict.detail}")
    failed = [v.check for v in verdicts if v.passed is False]
    if failed:
        click.echo(
            f"error: {len(failed)} of {len(verdicts)} checks failed: {', '.join(failed)} "
            f"(fix: {FIXES[failed[0]]})",
            err=True,
        )
        raise click.exceptions.Exit(int(ExitCode.GATE))


def _target_sets(
    target: str, count: int, data_dir: Path | None, start: str | None, end: str | None
) -> tuple[Any, list[Any]]:
    """The config and the parameter sets to check: the config's own, or a sweep file's sets
    spread evenly over its grid (the first and the last among them)."""
    from engine.core.strategy import universe_of
    from engine.runs.backtest import make_strategy
    from engine.runs.strategy_loader import get_strategy
    from engine.sweep.spec import check_set, load_sweep, param_sets

    if _is_sweep_file(target):
        spec, base, _ = load_sweep(Path(target))
        config = override(base, data_dir=data_dir, start=start, end=end)
        sets = param_sets(spec, config)
        picks = sorted({round(i * (len(sets) - 1) / max(count - 1, 1)) for i in range(count)})
        cls = get_strategy(config.strategy)
        strategies = [cls(check_set(cls.Params, sets.keys, sets[i])) for i in picks]
        for strategy in strategies:
            universe_of(strategy)
        return config, strategies
    path, config, lines = resolve_target(target)
    config = override(config, data_dir=data_dir, start=start, end=end)
    return config, [make_strategy(config, lines, str(path or "config"))]


def _is_sweep_file(target: str) -> bool:
    """A YAML file with a top-level `grid:` (a sweep file, not a run config)."""
    from engine.io.safe_yaml import read_yaml_file

    path = Path(target)
    if path.suffix not in (".yaml", ".yml") or not path.is_file():
        return False
    data = read_yaml_file(path, "sweep or run config").data
    return isinstance(data, dict) and "grid" in data


def _day(text: str) -> Any:
    """A --cut date (YYYY-MM-DD), or one error line."""
    import datetime

    import pandas as pd

    try:
        return pd.Timestamp(datetime.date.fromisoformat(text.strip()))
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        raise ConfigError(f"--cut {text!r} is not a date", "give a date like 2020-03-16") from None

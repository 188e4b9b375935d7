"""Which paths a `playbook scenario run` uses: the regime model or a bootstrap of history."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from engine.core.strategy import inputs_of
from engine.errors import ConfigError
from engine.markets.synthetic import SyntheticMarket
from engine.runs.backtest import make_strategy
from engine.runs.config import RunConfig
from engine.runs.paths import GeneratedPaths


def path_seed(scenario: str, seed: int | None, generator: str = "regime") -> int:
    """The seed paths are drawn with: the one given, else the scenario's own (so path 0 is
    the market `playbook run` uses by default); a bootstrap of history defaults to 0."""
    if seed is not None:
        return seed
    from engine.markets import load_scenario

    return 0 if generator == "bootstrap" else load_scenario(scenario).seed


def check_generator(generator: str, executor: str) -> None:
    """Bootstrap paths are drawn from real history read here: a dask worker cannot make them
    from plain data, so they run on this machine only (checked before reading any data)."""
    if generator == "bootstrap" and executor != "local":
        raise ConfigError(
            "--generator bootstrap runs on this machine only (a dask worker cannot make its paths)",
            "drop --executor dask, or use --generator regime",
        )


def make_paths(
    config: RunConfig,
    scenario: str,
    paths: int,
    seed: int,
    generator: str,
    data_dir: Path | None,
    block_days: int,
) -> tuple[Sequence[SyntheticMarket] | GeneratedPaths, str]:
    """The markets to run on and a label for the report. The regime model's paths are made
    a chunk at a time as `run_paths` reads them (memory flat in the number of paths), here or
    on a dask worker (`GeneratedPaths` is the plain data they are made from); bootstrap paths
    are made here only."""
    strategy = make_strategy(config)
    inputs = inputs_of(strategy)
    symbols = list(
        dict.fromkeys(
            [
                *strategy.universe(),
                *inputs.symbols,
                *([config.benchmark] if config.benchmark else []),
            ]
        )
    )
    if generator == "bootstrap":
        from engine.data.sources import DirectorySource
        from engine.markets import block_bootstrap

        if data_dir is None:
            raise ConfigError(
                "--generator bootstrap needs --data-dir with real history",
                "e.g. --data-dir ../shared/data",
            )
        source = DirectorySource(data_dir)
        macro = [*inputs.macro, *config.costs.cash_yield]
        first = max(source.prices(s).index[0] for s in symbols)
        last = min(source.prices(s).index[-1] for s in symbols)
        markets = block_bootstrap(
            source,
            symbols,
            macro,
            first.date(),
            (last - pd.Timedelta(days=0)).date(),
            paths,
            seed,
            block_days=block_days,
        )
        return markets, f"bootstrap-{first.year}-{last.year}"
    from engine.markets import load_scenario

    spec = load_scenario(scenario)
    return GeneratedPaths(spec, paths, seed, tuple(symbols)), spec.name

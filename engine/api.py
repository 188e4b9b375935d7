"""The Python API, for notebooks: run a config or a strategy object, look at the result,
write the run folder or the tearsheet, compare results. The CLI does the same with files.

    from engine import api
    result = api.run("configs/60-40.yaml", data_dir="../shared/data")
    result.stats["sharpe"], result.weights.tail(), result.regimes
    api.compare(result, api.run(MyStrategy(), start="2015-01-01"))
    api.check(MyStrategy(), data_dir="../shared/data")  # repeatable, sweep = run, no look-ahead

Importing this module runs nothing: every call is explicit (and `import engine` does not
import it).
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from engine.core.strategy import Strategy
from engine.data.sources import Source
from engine.errors import ConfigError
from engine.io.yaml_models import validate
from engine.runs.backtest import (
    RunResult,
    default_config_for,
    load_panel,
    make_source,
    make_strategy,
    run_backtest,
    run_prepared,
    window_start,
)
from engine.runs.config import RunConfig, find_config, load_run_config_with_lines
from engine.runs.strategy_loader import StrategySource

if TYPE_CHECKING:
    from engine.research.strategy_checks import Verdict


@dataclass(frozen=True)
class Result:
    """One backtest in memory: its series and tables, and how to write them."""

    run: RunResult  # everything the engine computed (config, panel, schedule, simulation)

    @property
    def returns(self) -> pd.Series:
        """Strategy returns per bar of the window (after costs, cash earning its rate)."""
        return self.run.returns

    @property
    def weights(self) -> pd.DataFrame:
        """End-of-bar weights per asset and CASH (drifted with prices between trades)."""
        return self.run.simulation.weights[0]

    @property
    def decisions(self) -> pd.DataFrame:
        """The target weights decided at each decision bar's close (traded at the next)."""
        return self.run.schedule.targets

    @property
    def events(self) -> pd.DataFrame:
        """Every event the strategy saw: time, kind, detail, whether it decided, gross."""
        return self.run.schedule.log

    @property
    def signals(self) -> pd.DataFrame:
        return self.run.schedule.signals

    @property
    def stats(self) -> dict[str, object]:
        """The run's stats.json (CAGR, volatility, Sharpe, drawdown, turnover, ...)."""
        return self.run.stats

    @property
    def regimes(self) -> pd.DataFrame | None:
        """The per-regime table (return, drawdown, benchmark, coverage)."""
        return self.run.regimes

    @property
    def notes(self) -> tuple[str, ...]:
        return self.run.notes

    @property
    def title(self) -> str:
        return self.run.title

    def write(self, results_dir: str | Path | None = None, report: bool = True) -> Path:
        """Write the run folder (as `playbook run` does) and return it."""
        from engine.runs.store import default_results_dir, write_run
        from engine.workflows.run import write_reports

        folder = Path(results_dir) if results_dir is not None else default_results_dir()
        reports = write_reports if report else None
        return write_run(self.run, folder, command="engine.api", write_reports=reports)

    def tearsheet(self, folder: str | Path) -> Path:
        """Draw the quantstats tearsheet (and equity PNG) into `folder`; the page's path."""
        from engine.reports.tearsheet import write_run_reports
        from engine.workflows.run import report_inputs

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        write_run_reports(out, report_inputs(self.run))
        return out / "tearsheet.html"

    def __repr__(self) -> str:
        cagr, sharpe = self.stats.get("cagr"), self.stats.get("sharpe")
        shown = (
            f"CAGR {cagr:+.2%}, Sharpe {sharpe:.2f}"
            if isinstance(cagr, float) and isinstance(sharpe, float)
            else "no stats"
        )
        return f"<Result {self.title}: {shown}>"


def run(
    target: str | Path | RunConfig | Strategy,
    *,
    source: Source | None = None,
    data_dir: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
    **settings: Any,
) -> Result:
    """Backtest `target`: a config file or name, a strategy spec (name, `module:Class`,
    `file.py[:Class]`), a `RunConfig`, or a strategy object (e.g. defined in the notebook).

    `data_dir` reads real history from a folder; `source` gives any data source directly;
    `start`/`end` and other config keys (`benchmark=`, `costs={...}`) override the config.
    """
    strategy = target if isinstance(target, Strategy) else None
    config = _config(target, data_dir, start, end, settings)
    if strategy is None:
        return Result(run_backtest(config, source=source))
    panel = load_panel(config, strategy, source or make_source(config))
    panel = dataclasses.replace(panel, window_start=window_start(config, panel))
    cls = type(strategy)
    origin = StrategySource(f"{cls.__module__}:{cls.__qualname__}", "module", cls.__module__)
    return Result(run_prepared(config, strategy, panel, origin))


def check(
    target: str | Path | RunConfig | Strategy,
    *,
    source: Source | None = None,
    data_dir: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
    cuts: list[str] | None = None,
    **settings: Any,
) -> list[Verdict]:
    """`playbook check` on `target` (as `run` takes it): repeatable, sweep = run and no
    look-ahead on its data, each a `Verdict` (`passed` True, False, or None: not judged) whose
    `detail` names the first difference. `cuts`: the days to cut the data after."""
    from engine.research.strategy_checks import check_strategy

    config = _config(target, data_dir, start, end, settings)
    strategy = target if isinstance(target, Strategy) else make_strategy(config)
    return check_strategy([strategy], config, source or make_source(config), cuts)


def _config(
    target: str | Path | RunConfig | Strategy,
    data_dir: str | Path | None,
    start: str | None,
    end: str | None,
    settings: dict[str, Any],
) -> RunConfig:
    if isinstance(target, Strategy):
        cls = type(target)
        data: dict[str, Any] = {
            "strategy": f"{cls.__module__}:{cls.__qualname__}",
            "name": target.name,
            "params": target.p.model_dump(mode="json"),
        }
    elif isinstance(target, RunConfig):
        data = target.model_dump()
    else:
        path = find_config(str(target))
        if path is not None:
            data = load_run_config_with_lines(path)[0].model_dump()
            data["name"] = data["name"] or path.stem
        elif str(target).endswith((".yaml", ".yml")):
            raise ConfigError(f"config file {target} not found", "check the path")
        else:
            data = default_config_for(str(target)).model_dump()
    if data_dir is not None:
        data["data"] = {**data.get("data", {}), "source": "directory", "path": Path(data_dir)}
    for key, value in (("start", start), ("end", end)):
        if value is not None:
            data[key] = value
    return validate(RunConfig, {**data, **settings}, {}, "engine.api.run")


def compare(*results: Result) -> pd.DataFrame:
    """Metrics of several results side by side on their common window: the numbers of
    `playbook compare` (the same code; the runs are written to a temporary folder first)."""
    from engine.reports.compare import compare_runs, load_run

    if len(results) < 1:
        raise ConfigError("nothing to compare", "give one or more results")
    with tempfile.TemporaryDirectory(prefix="playbook-compare-") as tmp:
        folders = [result.write(Path(tmp), report=False) for result in results]
        return compare_runs([load_run(folder) for folder in folders]).metrics

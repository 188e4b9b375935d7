"""`playbook run` as a function: backtest in memory, then write the run folder atomically.

The reports (the quantstats tearsheet and the PNG) are drawn in this process after the
simulation, into the run's temporary folder before it is renamed into place, so a failed or
interrupted run still leaves nothing. `write_folder_reports` draws them later from a run
folder's files (`playbook report tearsheet RUN`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from engine.data.sources import Source
    from engine.reports.tearsheet import ReportInputs
    from engine.runs.backtest import RunResult
    from engine.runs.config import RunConfig


def run_to_folder(
    config: RunConfig,
    config_path: Path | None,
    lines: dict | None = None,
    *,
    results_dir: Path | None = None,
    report: bool = True,
    command: str = "",
    source: Source | None = None,
) -> tuple[Path, RunResult]:
    """Run, then write the run folder (with its reports unless `report` is False).

    `source` is the config's data source when the caller has already built it."""
    from engine.runs.backtest import run_backtest
    from engine.runs.store import default_results_dir, write_run

    if config.name is None and config_path is not None:
        config = config.model_copy(update={"name": config_path.stem})
    result = run_backtest(
        config, source=source, lines=lines, config_path=str(config_path or "config")
    )
    folder = write_run(
        result,
        results_dir or default_results_dir(),
        command=command,
        write_reports=write_reports if report else None,
    )
    return folder, result


def report_inputs(result: RunResult) -> ReportInputs:
    """What the reports of one run are drawn from, taken from the run in memory."""
    from engine.core import metrics
    from engine.reports.tearsheet import ReportInputs

    weights = result.simulation.weights[0]
    return ReportInputs(
        returns=result.returns,
        benchmark=result.benchmark,
        cash=result.cash_returns,
        exposure=metrics.gross_exposure(weights),
        title=result.title,
        periods_per_year=float(result.periods_per_year),
        benchmark_name=None if result.benchmark is None else str(result.benchmark.name),
        regimes=result.regimes,
        decisions=decision_times(result.schedule.log),
    )


def folder_inputs(folder: Path) -> ReportInputs:
    """The same inputs read back from a run folder's files (returns, weights, stats, regimes)."""
    import pandas as pd

    from engine.core import metrics
    from engine.reports.tearsheet import ReportInputs

    frame = pd.read_parquet(folder / "returns.parquet")
    weights = pd.read_parquet(folder / "weights.parquet")
    stats = json.loads((folder / "stats.json").read_text())
    title = json.loads((folder / "run.json").read_text())["title"]
    regimes_csv = folder / "regimes.csv"
    bench_name = (stats.get("benchmark") or {}).get("symbol")
    benchmark = frame["benchmark"].rename(bench_name) if "benchmark" in frame else None
    index = pd.DatetimeIndex(frame.index)
    return ReportInputs(
        returns=frame["strategy"].set_axis(index),
        benchmark=None if benchmark is None else benchmark.set_axis(index),
        cash=frame["cash"].set_axis(index),
        exposure=metrics.gross_exposure(weights).set_axis(index),
        title=title,
        periods_per_year=float(stats["periods_per_year"]),
        benchmark_name=None if benchmark is None else str(bench_name),
        regimes=pd.read_csv(regimes_csv) if regimes_csv.is_file() else None,
        decisions=decision_times(pd.read_parquet(folder / "events.parquet")),
    )


def decision_times(log: pd.DataFrame) -> pd.DatetimeIndex:
    """The bars a strategy decided on (events.parquet's `decided` rows), for equity.png."""
    import pandas as pd

    return pd.DatetimeIndex(log.loc[log["decided"], "time"]).unique()


def write_reports(result: RunResult, folder: Path) -> None:
    """The quantstats tearsheet and the equity/drawdown PNG of one run, into `folder`."""
    from engine.reports.pages.run import write_run_page_for
    from engine.reports.tearsheet import write_run_reports

    write_run_reports(folder, report_inputs(result))
    write_run_page_for(
        result, folder
    )  # run.html (engine.reports.pages.run), linked from the tearsheet


def write_folder_reports(folder: Path) -> None:
    """Draw (again) the tearsheet and PNG of a written run folder, from its own files."""
    from engine.reports.tearsheet import write_run_reports

    write_run_reports(folder, folder_inputs(folder))

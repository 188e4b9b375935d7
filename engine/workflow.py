"""`playbook run` as a function: backtest in memory, then write the run folder atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.config import RunConfig
from engine.results import default_results_dir, write_run
from engine.run import RunResult, run_backtest


def run_to_folder(
    config: RunConfig,
    config_path: Path | None,
    lines: dict | None = None,
    *,
    results_dir: Path | None = None,
    report: bool = True,
    command: str = "",
) -> tuple[Path, RunResult]:
    if config.name is None and config_path is not None:
        config = config.model_copy(update={"name": config_path.stem})
    result = run_backtest(config, lines=lines, config_path=str(config_path or "config"))
    folder = write_run(
        result,
        results_dir or default_results_dir(),
        command=command,
        write_reports=write_reports if report else None,
    )
    return folder, result


def write_reports(result: RunResult, folder: Path) -> None:
    """The quantstats tearsheet and the equity/drawdown PNG of one run."""
    from engine.report import add_regime_section, write_equity_drawdown_png, write_tearsheet

    rf = float(np.power(1.0 + result.cash_returns.mean(), result.periods_per_year) - 1.0)
    bench_name = None if result.benchmark is None else str(result.benchmark.name)
    write_tearsheet(
        result.returns,
        result.benchmark,
        folder / "tearsheet.html",
        title=result.title,
        periods_per_year=result.periods_per_year,
        rf=rf,
        benchmark_name=bench_name,
    )
    if result.regimes is not None and not result.regimes.empty:
        add_regime_section(folder / "tearsheet.html", result.regimes, bench_name)
    write_equity_drawdown_png(
        result.returns,
        result.benchmark,
        folder / "equity.png",
        title=result.title,
        benchmark_name=bench_name,
    )

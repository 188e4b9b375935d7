"""Run folders: `results/<timestamp>-<strategy>-<hash>/`, written atomically.

Everything is written into a hidden temporary folder beside the final one and renamed into
place at the end, so an interrupted or failed run leaves no half folder (the temporary one is
removed; a hard kill can leave only a `.tmp-*` folder, which `playbook` ignores).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import platform
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from engine import __version__
from engine.errors import ConfigError
from engine.io.atomic import write_named_folder
from engine.runs.backtest import RunResult

RUN_ID = re.compile(r"^\d{8}-\d{6}-[a-z0-9][a-z0-9.-]*-[0-9a-f]{8}(-\d+)?$")


def default_results_dir() -> Path:
    """`$PLAYBOOK_RESULTS`, else ./results; set but empty is an error, not the current folder."""
    value = os.environ.get("PLAYBOOK_RESULTS")
    if value is None:
        return Path("results")
    if not value.strip():
        raise ConfigError(
            "$PLAYBOOK_RESULTS is set but empty (it would write into the current folder)",
            "unset it, set it to a folder, or pass --results-dir",
        )
    return Path(value)


def run_id(result: RunResult, now: dt.datetime | None = None) -> str:
    stamp = (now or dt.datetime.now()).strftime("%Y%m%d-%H%M%S")
    digest = result.config.config_hash()
    return f"{stamp}-{slug(result.strategy.name)}-{digest}"


def slug(text: str, limit: int = 40) -> str:
    """A folder-name part from a user string: [a-z0-9-] only, so never `/`, `..` or controls."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:limit].strip("-") or "run"


def write_run(
    result: RunResult,
    results_dir: Path,
    *,
    command: str = "",
    now: dt.datetime | None = None,
    write_reports: Callable[[RunResult, Path], None] | None = None,
    start_reports: Callable[[RunResult, Path], Callable[[bool], None]] | None = None,
) -> Path:
    """Write the whole run folder atomically and return its path.

    `write_reports(result, folder)` draws the reports here, after the data files;
    `start_reports(result, folder)` hands them to another process before the data files are
    written and returns `finish(ok)`, called before the folder is renamed into place (or
    removed): `finish(True)` waits for the reports and raises what failed, `finish(False)`
    stops that process, so nothing writes into a folder being removed.
    """

    def fill(folder: Path, name: str) -> None:
        finish = start_reports(result, folder) if start_reports is not None else None
        done = False
        try:
            _write_contents(result, folder, name, command)
            if write_reports is not None:
                write_reports(result, folder)
            done = True
        finally:
            if finish is not None:
                finish(done)

    return write_named_folder(Path(results_dir), run_id(result, now), fill, fixed_name=False)


def _write_contents(result: RunResult, folder: Path, name: str, command: str) -> None:
    config = result.config.model_dump(mode="json")
    config["params"] = result.strategy.p.model_dump(mode="json")  # resolved, with defaults
    (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _write_json(folder / "fingerprint.json", result.panel.fingerprint())
    _write_json(folder / "stats.json", result.stats)
    _write_json(
        folder / "run.json",
        {
            "id": name,
            "title": result.title,
            "strategy": result.strategy.name,
            # which code ran: built-in, entry point, module or file (path and SHA-256)
            "strategy_source": dataclasses.asdict(result.source) if result.source else None,
            "playbook_version": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "created": dt.datetime.now().isoformat(timespec="microseconds"),
            "command": command,
            "seed": result.config.data.seed if result.panel.synthetic else None,
            "config_hash": result.config.config_hash(),
            "synthetic": result.panel.synthetic,
            "notes": list(result.notes),
            "decisions_capped_by_leverage": result.schedule.capped,
        },
    )
    frame = pd.DataFrame({"strategy": result.returns, "cash": result.cash_returns})
    if result.benchmark is not None:
        frame["benchmark"] = result.benchmark
    frame.to_parquet(folder / "returns.parquet")
    result.simulation.weights[0].to_parquet(folder / "weights.parquet")
    result.schedule.targets.to_parquet(folder / "targets.parquet")
    result.schedule.log.to_parquet(folder / "events.parquet")
    if result.regimes is not None:
        result.regimes.to_csv(folder / "regimes.csv", index=False)


def _write_json(path: Path, payload: Any) -> None:
    text = json.dumps(_finite(payload), indent=2, default=_json_default, allow_nan=False)
    path.write_text(text + "\n")


def _finite(value: Any) -> Any:
    """JSON has no NaN: undefined metrics (e.g. Sharpe of a flat series) become null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, float | int):
        return value
    if hasattr(value, "item"):
        return value.item()
    return str(value)

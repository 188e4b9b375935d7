"""TARGET (a config file, config name or strategy) into a run config, plus command-line overrides.

Shared by every command that runs a playbook: run, signals, scenario run, vintages sensitivity
and `data fetch --config`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.errors import ConfigError


def resolve_target(target: str) -> tuple[Path | None, Any, dict]:
    """The config file (None for a bare strategy), the config and its YAML line numbers."""
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


def override(
    config: Any,
    *,
    data_dir: Path | None,
    start: str | None,
    end: str | None,
    offline: bool = False,
    refresh: bool = False,
) -> Any:
    """The config with the command line's data folder, window and cache flags, validated."""
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

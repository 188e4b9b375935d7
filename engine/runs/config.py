"""Run configs: YAML -> frozen, validated models; every mistake named with file and line.

A run config names the strategy and its params, the universe, the data source, the window,
costs, leverage cap and benchmark. Unknown keys and wrong types are errors of the form
`configs/x.yaml:7: costs.fee_bps: unknown key (did you mean 'fees_bps'?)`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from engine.core.regimes import Regime
from engine.data.validation import ValidationConfig
from engine.io.names import is_name, name_path
from engine.io.yaml_models import Frozen, read_yaml, validate

CONFIG_DIR_NAME = "configs"


class CostsConfig(Frozen):
    fees_bps: float = Field(1.0, ge=0, le=1000, description="commission per side, bps of notional")
    slippage_bps: float = Field(2.0, ge=0, le=1000, description="price moved against a fill, bps")
    borrow_bps: float = Field(50.0, ge=0, le=10000, description="short borrow fee, bps per year")
    cash_yield: tuple[str, ...] = Field(
        ("DTB3", "DFF"), description="FRED ids of the rate idle cash earns, first available wins"
    )
    cash_rate_pct: float = Field(
        0.0, ge=-5, le=50, description="annual cash rate where the series has no value"
    )

    @field_validator("cash_yield", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else value


class DataConfig(Frozen):
    source: Literal["synthetic", "directory", "yahoo"] = Field(
        "synthetic",
        description="synthetic: embedded default market; directory: CSV folder; "
        "yahoo: Yahoo Finance prices + FRED series through the local cache",
    )
    path: Path | None = Field(None, description="folder with prices/ and macro/ (directory)")
    seed: int = Field(20300101, ge=0, lt=2**63, description="seed of the synthetic market")
    scenario: str = Field(
        "ai-credit-crunch",
        min_length=1,
        description="source synthetic: the scenario (configs/scenarios name or YAML path) "
        "whose path 0 at `seed` is the market",
    )
    calendar: Literal["union", "business", "daily"] = Field(
        "union", description="union: every day any traded asset trades"
    )
    validation: ValidationConfig = Field(
        default_factory=ValidationConfig,
        description="data checks: gaps, jumps and stale prices, as notes or errors",
    )
    cache: Path | None = Field(
        None, description="cache folder for source yahoo (default: $PLAYBOOK_CACHE or user cache)"
    )
    offline: bool = Field(False, description="source yahoo: read only the cache, never download")
    refresh: bool = Field(
        False, description="source yahoo: top cached series up with the newest rows first"
    )
    proxies: dict[str, str] = Field(
        default_factory=dict,
        description="opt-in history before a symbol's first bar, e.g. {QQQ: ^NDX} (named in runs)",
    )
    vintages: Literal["as_of", "first_release", "latest"] = Field(
        "latest",
        description="macro values as published: as_of (latest vintage known at each bar), "
        "first_release (never revised) or latest (today's revised values on release-lag dates)",
    )

    @field_validator("path", "cache")
    @classmethod
    def _no_nul(cls, value: Path | None) -> Path | None:
        if value is not None and "\x00" in str(value):
            raise ValueError("a path cannot contain a NUL character")
        return value

    @model_validator(mode="after")
    def _path_for_directory(self) -> DataConfig:
        if self.source == "directory" and self.path is None:
            raise ValueError("source 'directory' needs a path (or pass --data-dir)")
        return self


class RunConfig(Frozen):
    name: str | None = Field(None, description="label for the run (defaults to the file name)")
    strategy: str = Field(
        min_length=1,
        description="strategy: a registered name (`playbook strategies`), package.module:Class "
        "or path/to/file.py[:Class] (relative to the config file)",
    )
    params: dict[str, Any] = Field(default_factory=dict, description="strategy parameters")
    universe: tuple[str, ...] | None = Field(
        None, description="symbols to load and trade (default: the strategy's own)"
    )
    data: DataConfig = Field(default_factory=DataConfig)
    start: dt.date | None = Field(
        None, description="first day of the window (default: first day all traded assets have data)"
    )
    end: dt.date | None = Field(None, description="last day (default: last common bar)")
    costs: CostsConfig = Field(default_factory=CostsConfig)
    leverage_cap: float = Field(1.0, gt=0, le=10, description="max gross exposure per decision")
    benchmark: str | None = Field(
        "SPY", min_length=1, description="symbol the report compares against (null: none)"
    )
    regimes: tuple[Regime, ...] = Field(
        (), description="extra regimes (name, start, end, description) for the per-regime table"
    )

    @field_validator("params")
    @classmethod
    def _not_recursive(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            json.dumps(value, default=str)
        except ValueError:  # a YAML alias that contains itself
            raise ValueError("params refer to themselves (a recursive YAML alias)") from None
        return value

    @field_validator("name")
    @classmethod
    def _printable_name(cls, value: str | None) -> str | None:
        if value is not None and any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value):
            raise ValueError("the name contains control characters (newlines, tabs, escapes)")
        return value

    @model_validator(mode="after")
    def _window_order(self) -> RunConfig:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self

    def canonical_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    def config_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()[:8]


def load_run_config(path: Path) -> RunConfig:
    """Parse and validate a run config file; relative data paths and strategy files resolve
    from the file's folder."""
    return load_run_config_with_lines(path)[0]


def load_run_config_with_lines(path: Path) -> tuple[RunConfig, dict[tuple[Any, ...], int]]:
    """The config and the line of each key, so later checks (params) can point at lines."""
    path = Path(path)
    data, lines = read_yaml(path)
    config = validate(RunConfig, data, lines, path)
    for key in ("path", "cache"):
        value = getattr(config.data, key)
        if value is not None and not value.is_absolute():
            resolved = (path.parent / value).resolve()
            config = config.model_copy(
                update={"data": config.data.model_copy(update={key: resolved})}
            )
    from engine.runs.strategy_loader import absolute_spec  # a strategy file is relative to here

    strategy = absolute_spec(config.strategy, path.parent.resolve())
    return config.model_copy(update={"strategy": strategy}), lines


def find_config(name_or_path: str, search: list[Path] | None = None) -> Path | None:
    """A config file given as a path, or by name under ./configs or the project's configs."""
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml"):
        if candidate.is_file():
            return candidate
        if candidate.parent.name != CONFIG_DIR_NAME:
            return None
        name_or_path = candidate.stem  # configs/x.yaml from another folder: the project's
    if not is_name(name_or_path):  # `../x`, `/etc/x`: a path, not a config name
        return None
    for folder in search if search is not None else config_dirs():
        for suffix in (".yaml", ".yml"):
            found = name_path(folder, "", name_or_path, suffix, "config name")
            if found.is_file():
                return found
    return None


def config_dirs() -> list[Path]:
    project = Path(__file__).resolve().parents[2] / CONFIG_DIR_NAME
    return list(dict.fromkeys([Path.cwd() / CONFIG_DIR_NAME, project]))

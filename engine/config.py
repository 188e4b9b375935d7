"""Run configs: YAML -> frozen, validated models; every mistake named with file and line.

A run config names the strategy and its params, the universe, the data source, the window,
costs, leverage cap and benchmark. Unknown keys and wrong types are errors of the form
`configs/x.yaml:7: costs.fee_bps: unknown key (did you mean 'fees_bps'?)`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import math
import reprlib
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.errors import ConfigError
from engine.names import is_name, name_path
from engine.regimes import Regime
from engine.safe_yaml import read_yaml_file

CONFIG_DIR_NAME = "configs"
ABSURD_JUMP = math.log(100)  # a price 100x (or 1/100) the bar before: never a real move


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class ValidationConfig(Frozen):
    """Checks of every loaded price series (engine.data.panel): gaps, jumps, stale prices."""

    on_issue: Literal["warn", "error"] = Field(
        "warn", description="warn: record each issue as a run note; error: stop the run"
    )
    max_gap_bars: int = Field(
        5,
        ge=1,
        le=10_000,
        description="most consecutive expected bars (weekdays; every day for a 7-day asset) "
        "a traded asset may miss",
    )
    max_jump: float = Field(
        0.5, gt=0, le=100, description="largest |daily log return| of an asset trading weekdays"
    )
    max_jump_crypto: float = Field(
        0.8,
        gt=0,
        le=100,
        description="largest |daily log return| of an asset trading 7 days a week (crypto)",
    )
    jump_overrides: dict[str, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=dict, description="per-symbol |log return| limits, e.g. {^VIX: 1.0}"
    )
    max_jump_absurd: float = Field(
        ABSURD_JUMP,
        gt=0,
        le=100,
        description="|daily log return| beyond which a price series is refused, whatever "
        "on_issue says (default log(100): a 100x move is a bad print or wrong units)",
    )
    max_stale_bars: int = Field(
        10,
        ge=1,
        le=100_000,
        description="most consecutive traded bars an asset's price may stay unchanged",
    )

    def jump_limit(self, symbol: str, seven_day: bool) -> float:
        if symbol in self.jump_overrides:
            return self.jump_overrides[symbol]
        return self.max_jump_crypto if seven_day else self.max_jump


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
    from engine.strategy_loader import absolute_spec  # a strategy file is relative to here

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
    project = Path(__file__).resolve().parent.parent / CONFIG_DIR_NAME
    return list(dict.fromkeys([Path.cwd() / CONFIG_DIR_NAME, project]))


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Safe-load a YAML mapping (bounded: engine.safe_yaml) and the line of every key."""
    if not path.is_file():
        raise ConfigError(f"config file {path} not found", "check the path; see `playbook configs`")
    document = read_yaml_file(path, "YAML config")
    data, node = document.data, document.node
    if data is None:
        raise ConfigError(f"{path}: the file is empty", "see configs/60-40.yaml for an example")
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys, got {type(data).__name__}",
            "see configs/60-40.yaml for an example",
        )
    lines: dict[tuple[Any, ...], int] = {}
    _index_lines(node, (), lines, path, set())
    return data, lines


def validate(
    model: type[BaseModel],
    data: Any,
    lines: dict[tuple[Any, ...], int],
    path: Path | str,
    prefix: tuple[Any, ...] = (),
) -> Any:
    """Validate `data` against `model`; the first error becomes one ConfigError line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, model, lines, path, prefix) from None


def _config_error(
    exc: ValidationError,
    model: type[BaseModel],
    lines: dict[tuple[Any, ...], int],
    path: Path | str,
    prefix: tuple[Any, ...],
) -> ConfigError:
    error = exc.errors()[0]
    loc = tuple(error["loc"])
    full = prefix + loc
    line = _nearest_line(lines, full)
    where = f"{path}:{line}" if line else str(path)
    key = ".".join(str(p) for p in full) or "(top level)"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if error["type"] == "extra_forbidden":
        hint = did_you_mean(str(loc[-1]), _fields_at(model, loc[:-1]))
        return ConfigError(f"{where}: {key}: unknown key{more}", hint or "remove it")
    if error["type"] == "missing":
        return ConfigError(f"{where}: {key}: required key is missing{more}", f"add `{loc[-1]}:`")
    message = error["msg"].removeprefix("Value error, ")
    given = error.get("input")
    shown = (
        f" (got {_short_repr(given)})" if given is not None and not isinstance(given, dict) else ""
    )
    return ConfigError(f"{where}: {key}: {message}{shown}{more}", _fix_for(error, model, loc))


def _short_repr(value: Any) -> str:
    """A bounded repr: a value built from YAML aliases can be enormous."""
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, 60, 60
    short.maxlist = short.maxtuple = short.maxset = short.maxdict = 6
    return short.repr(value)


def _fix_for(error: Any, model: type[BaseModel], loc: tuple[Any, ...]) -> str:
    field = _field_info(model, loc)
    if field is not None and field.description:
        name = next((part for part in reversed(loc) if not isinstance(part, int)), loc[-1])
        return f"{name} is the {field.description}"
    return "see `playbook strategies` and configs/ for valid values"


def _field_info(model: type[BaseModel], loc: tuple[Any, ...]) -> Any:
    current: Any = model
    info = None
    for part in loc:
        fields = getattr(current, "model_fields", None)
        if not fields or part not in fields:
            return info
        info = fields[part]
        current = info.annotation
    return info


def _fields_at(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc:
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        current = fields[part].annotation
    return list(getattr(current, "model_fields", {}))


def did_you_mean(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"valid keys: {', '.join(choices)}" if choices else ""


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _index_lines(
    node: Any,
    at: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    path: Path,
    seen_nodes: set[int],
) -> None:
    if id(node) in seen_nodes:  # an alias (*name) of a node already indexed: not again
        return
    seen_nodes.add(id(node))
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                raise ConfigError(
                    f"{path}:{key_node.start_mark.line + 1}: duplicate key {key!r}",
                    "keep one of them",
                )
            seen.add(key)
            lines[(*at, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*at, key), lines, path, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*at, i)] = item.start_mark.line + 1
            _index_lines(item, (*at, i), lines, path, seen_nodes)

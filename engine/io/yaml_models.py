"""YAML files -> frozen pydantic models, every mistake one line with file, line and a fix.

`read_yaml` reads a mapping (bounded by `engine.io.safe_yaml`) and the line of every key;
`validate` turns pydantic's first error into `file:7: costs.fee_bps: unknown key (did you
mean 'fees_bps'?)`. Run configs, sweep files, scenarios and claims all read this way.
"""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from engine.errors import ConfigError
from engine.io.safe_yaml import read_yaml_file


class Frozen(BaseModel):
    """The base of every config model: immutable once read, and a misspelt key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[tuple[Any, ...], int]]:
    """Safe-load a YAML mapping (bounded: engine.io.safe_yaml) and the line of every key."""
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
    examples: str = "see `playbook strategies` and configs/ for valid values",
) -> Any:
    """Validate `data` against `model`; the first error becomes one ConfigError line.
    `examples` is the fix when the field has no description to quote: where working
    files of this kind are (configs/sweeps/ for a sweep file)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, model, lines, path, prefix, examples) from None


def _config_error(
    exc: ValidationError,
    model: type[BaseModel],
    lines: dict[tuple[Any, ...], int],
    path: Path | str,
    prefix: tuple[Any, ...],
    examples: str,
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
    return ConfigError(
        f"{where}: {key}: {message}{shown}{more}", _fix_for(error, model, loc, examples)
    )


def _short_repr(value: Any) -> str:
    """A bounded repr: a value built from YAML aliases can be enormous."""
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 3, 60, 60
    short.maxlist = short.maxtuple = short.maxset = short.maxdict = 6
    return short.repr(value)


def _fix_for(error: Any, model: type[BaseModel], loc: tuple[Any, ...], examples: str) -> str:
    field = _field_info(model, loc)
    if field is not None and field.description:
        name = next((part for part in reversed(loc) if not isinstance(part, int)), loc[-1])
        return f"{name} is the {field.description}"
    return examples


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


def did_you_mean(
    name: str,
    choices: Iterable[str],
    *,
    n: int = 1,
    cutoff: float = 0.5,
    otherwise: str | None = None,
) -> str:
    """The one 'did you mean' hint for a misspelt name: up to `n` close choices.

    With nothing close it returns `otherwise`, or by default the list of valid keys ("" when
    there are none), so a caller with its own fallback passes it here.
    """
    options = list(choices)
    close = difflib.get_close_matches(name, options, n=n, cutoff=cutoff)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    if otherwise is not None:
        return otherwise
    return f"valid keys: {', '.join(options)}" if options else ""


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

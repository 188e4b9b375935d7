"""The one YAML reader: safe tags only, and bounded before a single object is built.

PyYAML builds an alias (`*a`) as a shared reference, so a file of a few lines can describe
a document of billions of values (the "billion laughs"); whatever then walks it (validation,
JSON, repr) eats all memory or hangs. Every YAML file playbook reads (run configs, sweep and
scenario files, claims files, a run folder's config.yaml) goes through `parse_yaml`, which
first walks the file's event stream, which builds nothing, and refuses a file that breaks a
limit below, naming the file and line. Only then are nodes composed and values constructed,
with the safe loader (plain data; no Python tags).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError, PlaybookError, from_os_error

# libyaml's safe loader when PyYAML was built with it (the wheels are): same documents, ~10x
# faster than the pure-Python one (configs and scenario files are read on every run)
YamlSafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 1_000_000  # size of the file itself
MAX_DEPTH = 50  # collections nested in each other
MAX_ALIASES = 1_000  # uses of an alias (`*a`, merge keys `<<: *a` included)
MAX_VALUES = 100_000  # values (scalars and collections) once every alias is expanded
MAX_TEXT = 10_000_000  # characters of scalar text once every alias is expanded
LIMITS = (
    f"at most {MAX_BYTES:,} bytes, {MAX_DEPTH} levels of nesting, {MAX_ALIASES:,} alias uses, "
    f"{MAX_VALUES:,} values and {MAX_TEXT:,} characters with aliases expanded"
)
_FIX = "write the values out instead of multiplying them with aliases"


@dataclass(frozen=True)
class YamlDocument:
    """The constructed value and the composed node tree (for the line of each key)."""

    data: Any
    node: yaml.Node | None


def read_yaml_file(
    path: Path, what: str = "YAML file", error: type[PlaybookError] = ConfigError
) -> YamlDocument:
    """Read and parse `path`; the size is checked before the file is read."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _too_big(str(path), size, error)
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not a text file", f"give a {what}") from exc
    except OSError as exc:  # the cause and its fix from the one errno table
        cause = from_os_error(exc)
        raise error(f"{path}: cannot read it ({exc.strerror or cause.problem})", cause.fix) from exc
    return parse_yaml(text, str(path), error)


def parse_yaml(text: str, where: str, error: type[PlaybookError] = ConfigError) -> YamlDocument:
    """Check `text` against the limits, then safe-load one document; errors name `where`."""
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        raise _too_big(where, size, error)
    try:
        _check_events(text, where, error)
        node = _compose(text)
        data = _construct(text)
    except RecursionError:
        raise error(f"{where}: nested too deeply to read", "flatten the YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "nesting depth" in str(problem):  # PyYAML >= 6.0.4 stops before Python recurses
            raise error(f"{where}{at}: nested too deeply to read", "flatten the YAML") from None
        raise error(f"{where}{at}: YAML syntax error: {problem}", "fix the YAML") from exc
    except (ValueError, OverflowError) as exc:  # `start: 2021-02-30`: a date that is not one
        line = _bad_timestamp_line(_compose(text))
        at = f":{line}" if line else ""
        raise error(
            f"{where}{at}: not a valid date ({exc})", "use a real date, YYYY-MM-DD"
        ) from None
    return YamlDocument(data, node)


def _too_big(where: str, size: int, error: type[PlaybookError]) -> PlaybookError:
    return error(
        f"{where}: {size:,} bytes, more than the {MAX_BYTES:,} a YAML file may have",
        "split or shorten the file",
    )


def _check_events(text: str, where: str, error: type[PlaybookError]) -> None:
    """Walk the event stream counting what the document expands to; refuse it past a limit.

    Each anchor's expanded size is known when its value ends, so an alias adds that size:
    the running totals are the document's size with every alias written out.
    """
    open_anchors: list[str | None] = []  # anchors of the collections still open
    counts: list[list[int]] = [[0, 0]]  # per open collection: values and characters so far
    sizes: dict[str, tuple[int, int]] = {}  # anchor -> expanded values and characters
    aliases = values = chars = 0
    loader = YamlSafeLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise error(f"{where}:{line}: more than {MAX_ALIASES:,} alias uses", _FIX)
                if event.anchor in open_anchors:
                    raise error(
                        f"{where}:{line}: alias *{event.anchor} refers to a value that "
                        "contains it (a recursive alias)",
                        "a value cannot contain itself; write it out",
                    )
                add = sizes.get(str(event.anchor), (1, 0))
            elif isinstance(event, yaml.ScalarEvent):
                add = (1, len(event.value))
                if event.anchor is not None:
                    sizes[event.anchor] = add
            elif isinstance(event, yaml.CollectionStartEvent):
                if len(open_anchors) >= MAX_DEPTH:
                    raise error(
                        f"{where}:{line}: nested too deeply (more than {MAX_DEPTH} levels)",
                        "flatten the YAML",
                    )
                open_anchors.append(event.anchor)
                counts.append([1, 0])
                values += 1
                _check_totals(values, chars, where, line, error)
                continue
            elif isinstance(event, yaml.CollectionEndEvent):
                anchor = open_anchors.pop()
                done = counts.pop()
                if anchor is not None:
                    sizes[anchor] = (done[0], done[1])
                counts[-1][0] += done[0]
                counts[-1][1] += done[1]
                continue
            else:  # stream and document boundaries
                continue
            counts[-1][0] += add[0]
            counts[-1][1] += add[1]
            values += add[0]
            chars += add[1]
            _check_totals(values, chars, where, line, error)
    finally:
        loader.dispose()


def _check_totals(values: int, chars: int, where: str, line: int, error: type[PlaybookError]):
    if values > MAX_VALUES:
        raise error(
            f"{where}:{line}: expands to more than {MAX_VALUES:,} values through its aliases "
            "(an alias bomb?)",
            _FIX,
        )
    if chars > MAX_TEXT:
        raise error(
            f"{where}:{line}: expands to more than {MAX_TEXT:,} characters of text through "
            "its aliases (an alias bomb?)",
            _FIX,
        )


def _compose(text: str) -> yaml.Node | None:
    """The node tree as written (merge keys not yet applied): lines and duplicate keys."""
    loader = YamlSafeLoader(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _construct(text: str) -> Any:
    loader = YamlSafeLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _bad_timestamp_line(root: Any) -> int | None:
    """The line of the first YAML date/timestamp scalar that is not a real date."""
    stack, seen = [root], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            stack += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value
        elif node.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(node)
            except (ValueError, OverflowError):
                return int(node.start_mark.line) + 1
    return None

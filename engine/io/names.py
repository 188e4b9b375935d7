"""Names that become file paths: one rule for all of them, and a last check on the path.

A symbol, a FRED id, a scenario or config name, a cache key: each is joined to a folder
(`prices/<SYMBOL>.csv`, `configs/<NAME>.yaml`, ...). A name with `/`, `..`, a NUL or an
absolute path would read or write a file outside that folder, so every such join goes
through `name_path`: the name must pass `check_name`, and the resolved path (symbolic links
followed) must still lie inside the resolved folder.
"""

from __future__ import annotations

import re
import reprlib
from pathlib import Path

from engine.errors import ConfigError, PlaybookError

MAX_NAME = 100
# ASCII letters and digits, then also . _ - ^ = (Yahoo's ^GSPC, GC=F, DX-Y.NYB, BTC-USD)
NAME = re.compile(rf"[A-Za-z0-9^=_][A-Za-z0-9^=._-]{{0,{MAX_NAME - 1}}}")
NAME_RULE = (
    f"use at most {MAX_NAME} ASCII letters, digits and . _ - ^ = (not first: . or -), "
    "no '/', '\\', '..' or absolute paths"
)


def is_name(value: object) -> bool:
    """True when `value` may be joined to a folder as a file name."""
    return isinstance(value, str) and NAME.fullmatch(value) is not None and ".." not in value


def check_name(value: object, kind: str, error: type[PlaybookError] = ConfigError) -> str:
    """`value` itself when it is a valid name, else one-line `error` naming the `kind`."""
    if not is_name(value):
        raise error(f"{kind} {shown(value)} is not a valid name", NAME_RULE)
    assert isinstance(value, str)
    return value


def name_path(
    root: Path,
    folder: str,
    name: object,
    suffix: str,
    kind: str,
    error: type[PlaybookError] = ConfigError,
) -> Path:
    """`root/folder/<name><suffix>` for a checked name, proven to stay inside `root/folder`.

    `kind` names the name in errors ("symbol", "FRED id", ...). The name is used as given,
    so callers map it to a file stem first (`symbol_filename`).
    """
    check_name(name, kind, error)
    base = Path(root) / folder if folder else Path(root)
    return inside(base, f"{name}{suffix}", kind, error)


def inside(base: Path, relative: str, kind: str, error: type[PlaybookError] = ConfigError) -> Path:
    """`base/relative`, refused unless its resolved form lies inside resolved `base`."""
    home = Path(base).resolve()
    path = (home / relative).resolve()
    if path == home or not path.is_relative_to(home):
        raise error(
            f"{kind} {shown(relative)} leads outside {home} (to {shown(str(path))})",
            "use a plain name; files must not link outside their folder",
        )
    return Path(base) / relative


def shown(value: object) -> str:
    """A bounded, escaped repr: NULs, newlines and escapes never reach the terminal raw."""
    short = reprlib.Repr()
    short.maxstring = short.maxother = 80
    return short.repr(value).encode("ascii", "backslashreplace").decode("ascii")

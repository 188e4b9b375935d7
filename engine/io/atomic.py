"""Outputs written whole or not at all: a file or folder appears complete, or not at all.

The one writer for every output (run folders, sweep files, pages): a reader never sees half
a file, and a failure (full disk, Ctrl-C) leaves the old output or none.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from engine.errors import OutputError, from_os_error


def write_folder_atomically(
    parent: Path, name: str, fill: Callable[[Path], None], *, fixed_name: bool = False
) -> Path:
    """Fill a hidden temporary folder, then rename it into place; on any failure remove it.

    Without `fixed_name`, an existing folder of that name gets a -2, -3 ... suffix.
    """
    return write_named_folder(parent, name, lambda tmp, _name: fill(tmp), fixed_name=fixed_name)


def write_named_folder(
    parent: Path, name: str, fill: Callable[[Path, str], None], *, fixed_name: bool
) -> Path:
    """`write_folder_atomically`, telling `fill` the final name (a run id is unique per run).

    The final name is claimed first by creating it (`mkdir` is atomic: of runs started in
    the same second, each gets its own -2, -3 ... name); the filled temporary folder then
    replaces that empty one. On failure both are removed.
    """
    claimed = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        final = parent / name if fixed_name else _claim_name(parent, name)
        claimed = None if fixed_name else final
        tmp = parent / f".tmp-{final.name}-{os.getpid()}"
        tmp.mkdir()
    except OSError as exc:
        _remove_claim(claimed)
        raise output_error(
            exc, f"cannot write to {parent}", "--results-dir chooses the folder"
        ) from exc
    try:
        fill(tmp, final.name)
        os.replace(tmp, final)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_claim(claimed)
        raise output_error(
            exc, f"could not write {final.name} in {parent}", "then run again"
        ) from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_claim(claimed)
        raise
    return final


def write_file_atomically(
    path: Path, write: Callable[[Path], object], *, fsync: bool = False
) -> None:
    """`write(tmp)` beside `path`, then rename it into place: a reader never sees half a
    file, and a failure (full disk, Ctrl-C) leaves the old file or none. A folder at `path`
    is refused (EISDIR, one line in the CLI) rather than written into or replaced.

    `fsync` flushes the file to disk before the rename, so a power cut cannot leave an
    empty file under the final name (the data cache, read back without a rerun, asks for it).
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "Is a directory", str(path))
    tmp = path.with_name(f".{path.name[:200]}.{os.getpid()}.tmp")
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def output_error(exc: OSError, doing: str, then: str = "") -> OutputError:
    """One line (exit 5) for a failed write: what was being written, the system's own words
    for the cause, and the fix from `engine.errors.from_os_error`'s one errno table (so every
    writer gives the same fix for a full disk or a denied folder)."""
    cause = from_os_error(exc)
    fix = f"{cause.fix}; {then}" if then else cause.fix
    return OutputError(f"{doing}: {exc.strerror or cause.problem}", fix)


def _claim_name(parent: Path, base: str) -> Path:
    """Create the first free folder of base, base-2, base-3 ...; creating is the claim."""
    n = 1
    while True:
        candidate = parent / (base if n == 1 else f"{base}-{n}")
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1


def _remove_claim(claimed: Path | None) -> None:
    if claimed is not None:
        with contextlib.suppress(OSError):  # only while still empty: never a finished run
            claimed.rmdir()

"""Errors a user can cause, each with the fix and a documented exit code.

The CLI prints `error: <problem> (fix: <fix>)` on one line and exits with `exit_code`;
anything that is not a `PlaybookError` is a bug and gets exit code 1 with a traceback only
under `--debug`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes, documented in the README."""

    OK = 0
    INTERNAL = 1  # a bug in playbook: please report it
    USAGE = 2  # bad command line or config (click uses 2 for usage errors too)
    DATA = 3  # missing, malformed or insufficient data
    NETWORK = 4  # a real data source could not be reached
    OUTPUT = 5  # a file could not be read or written (permissions, disk full, name too long)
    STRATEGY = 6  # a strategy failed: its code raised, or it asked for something impossible
    GATE = 7  # a quality gate failed (e.g. sweep --fail-below-dsr)
    INTERRUPTED = 130  # Ctrl-C


class PlaybookError(Exception):
    """An error the user can fix; `fix` says how."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def one_line(self) -> str:
        text = " ".join(self.problem.split())
        return f"{text} (fix: {self.fix})" if self.fix else text


class ConfigError(PlaybookError):
    exit_code = ExitCode.USAGE


class DataError(PlaybookError):
    exit_code = ExitCode.DATA


class NetworkError(PlaybookError):
    exit_code = ExitCode.NETWORK


class OutputError(PlaybookError):
    exit_code = ExitCode.OUTPUT


class StrategyError(PlaybookError):
    """A strategy failed: its own code raised (`engine.runs.strategy_failure`), or it asked
    for something impossible (an unknown or untradable asset, weights that are not numbers)."""

    exit_code = ExitCode.STRATEGY


# errno -> (problem, fix) for an OSError no command foresaw: one place, so every command's
# unreadable file, full disk, too-long name or closed pipe ends in one line and exit code 5
_OS_PROBLEMS: dict[str, tuple[str, str]] = {
    "EACCES": ("permission denied", "fix the permissions (chmod) or choose another path"),
    "EPERM": ("operation not permitted", "fix the permissions or choose another path"),
    "EROFS": ("the file system is read-only", "choose a writable folder"),
    "ENOSPC": ("no space left on the device", "free disk space or choose another folder"),
    "EDQUOT": ("disk quota exceeded", "free disk space or choose another folder"),
    "EFBIG": ("file too large for the file system", "choose another folder"),
    "ENAMETOOLONG": (
        "a file name is longer than the file system allows",
        "use a shorter name, --out or --results-dir",
    ),
    "EISDIR": ("a folder is where a file must go", "choose a file path, not a folder"),
    "ENOTDIR": ("a file is where a folder must go", "choose a folder path, not a file"),
    "EEXIST": ("the path already exists", "choose another path"),
    "ENOTEMPTY": ("the folder is not empty", "choose another path"),
    "EPIPE": (
        "standard output was closed before playbook finished (e.g. `| head`)",
        "read the whole output, or redirect it to a file",
    ),
    "ENOENT": ("no such file or folder", "check the path"),
    "ELOOP": ("too many symbolic links", "check the path"),
}


def from_os_error(exc: OSError) -> PlaybookError:
    """An OutputError (exit 5) for any OSError, naming the path and the cause in one line."""
    import errno as errno_names

    name = errno_names.errorcode.get(exc.errno or 0, "")
    problem, fix = _OS_PROBLEMS.get(
        name, (exc.strerror or type(exc).__name__, "check the path, permissions and free space")
    )
    where = exc.filename if exc.filename is not None else ""
    where = str(where)
    if len(where) > 120:
        where = where[:60] + "..." + where[-40:]
    return OutputError(f"{problem}: {where}" if where else problem, fix)

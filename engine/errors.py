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
    OUTPUT = 5  # results could not be written (permissions, disk full)
    STRATEGY = 6  # a strategy asked for an impossible trade (unknown or untradable asset)
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
    """A strategy asked for something impossible (an unknown or untradable asset)."""

    exit_code = ExitCode.STRATEGY

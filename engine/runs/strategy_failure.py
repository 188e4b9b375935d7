"""When a strategy's own code raises, say so and where, instead of "internal error".

A strategy loaded from a file, a module or another package's entry point is the user's code.
An exception it raises while the engine runs it (in `signals`, `on_event`, a helper of its
own) is not a bug in playbook, so the CLI reports it as one line naming the strategy's file,
line and function, with exit code 6; `--debug` still shows the traceback. Playbook's own
code (`engine`, the built-in `strategies`) is not user code: an exception raised there stays
an internal error, a bug to report.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import FrameType, TracebackType

from engine.core.strategy import Strategy
from engine.errors import StrategyError

OWN_PACKAGES = ("engine", "strategies")  # playbook's code: its exceptions are its bugs


def strategy_code_failure(exc: BaseException) -> StrategyError | None:
    """The error line for `exc` when the innermost frame of playbook-external strategy code
    on its traceback raised it (or called what did); None when no such frame is on it.
    Frames a dask worker sent back (rebuilt, without their namespaces) count by module name."""
    frame, line = _innermost_strategy_frame(exc.__traceback__)
    if frame is None:
        return None
    code = frame.f_code
    owner = frame.f_locals.get("self", frame.f_locals.get("cls"))
    if not _is_strategy(owner):  # a helper function, or a frame a worker sent back
        defined = _own_strategies(frame.f_globals)
        owner = defined[0] if len(defined) == 1 else None
    name = getattr(owner, "name", None)
    who = f"strategy {name}" if isinstance(name, str) else "the strategy"
    try:
        first = next(iter(str(exc).splitlines()), "")
    except Exception:  # an exception class of the user's whose str() fails too
        first = ""
    raised = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return StrategyError(
        f"{who} raised {raised} in {code.co_name} ({Path(code.co_filename).name}, line {line})",
        f"fix the strategy's code in {code.co_filename} (`playbook --debug ...` shows the "
        "traceback)",
    )


def _innermost_strategy_frame(tb: TracebackType | None) -> tuple[FrameType | None, int]:
    found: tuple[FrameType | None, int] = (None, 0)
    while tb is not None:
        if _own_strategies(tb.tb_frame.f_globals):
            found = (tb.tb_frame, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _own_strategies(namespace: dict) -> list[type[Strategy]]:
    """The Strategy classes a module outside playbook's own packages defines (none for
    playbook's modules); read from the loaded module when the frame is a rebuilt one."""
    module = namespace.get("__name__")
    if not isinstance(module, str) or module.split(".")[0] in OWN_PACKAGES:
        return []
    loaded = sys.modules.get(module)
    names = vars(loaded) if loaded is not None else namespace
    return [
        value
        for value in list(names.values())
        if isinstance(value, type) and issubclass(value, Strategy) and value.__module__ == module
    ]


def _is_strategy(owner: object) -> bool:
    return isinstance(owner, Strategy) or (isinstance(owner, type) and issubclass(owner, Strategy))

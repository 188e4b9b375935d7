"""`playbook run` as a function: backtest in memory, then write the run folder atomically.

A CLI run draws its reports (the quantstats tearsheet and the PNG) in `ReportProcess`, a
child started at the very beginning of the command: it imports quantstats and matplotlib
(~2 s) while this process loads data and simulates, and is handed the returns when they are
ready. It writes into the run's temporary folder before that folder is renamed into place, so
a failed or interrupted run still leaves nothing. This module imports only the standard
library at the top, so the CLI can start that child before anything heavy is imported.
"""

from __future__ import annotations

import builtins
import gc
import io
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.config import RunConfig
    from engine.data.sources import Source
    from engine.run import RunResult

PARENT_ENV = "PLAYBOOK_REPORT_PARENT"  # the report process's parent pid, to die with it
REPORT_TIMEOUT_S = 900.0  # a report process that takes longer is killed: CI never hangs
_CHILD_CODE = "from engine.workflow import report_process_main; report_process_main()"
# The cyclic GC's thresholds for a process doing one bounded job (a run, a report): young
# objects are still collected, but the full passes over the ~400k objects that importing
# pandas, numba and vectorbt creates are not repeated (with the defaults a warm 60-40 run
# made 6 of them, 0.5-0.7 s in all, freeing ~1k objects).
BOUNDED_GC = (50_000, 50, 1_000)


def run_to_folder(
    config: RunConfig,
    config_path: Path | None,
    lines: dict | None = None,
    *,
    results_dir: Path | None = None,
    report: bool = True,
    command: str = "",
    renderer: ReportProcess | None = None,
    source: Source | None = None,
) -> tuple[Path, RunResult]:
    """Run, then write the run folder; the reports are drawn by `renderer` when given.

    `source` is the config's data source when the caller has already built it."""
    from engine.results import default_results_dir, write_run
    from engine.run import run_backtest

    if config.name is None and config_path is not None:
        config = config.model_copy(update={"name": config_path.stem})
    result = run_backtest(
        config, source=source, lines=lines, config_path=str(config_path or "config")
    )
    folder = write_run(
        result,
        results_dir or default_results_dir(),
        command=command,
        write_reports=write_reports if report and renderer is None else None,
        start_reports=renderer.start_pages if report and renderer is not None else None,
    )
    return folder, result


def report_job(result: RunResult, folder: Path) -> dict[str, Any]:
    """The keyword arguments of `engine.report.write_run_reports` for one run."""
    import numpy as np

    rf = float(np.power(1.0 + result.cash_returns.mean(), result.periods_per_year) - 1.0)
    bench_name = None if result.benchmark is None else str(result.benchmark.name)
    return {
        "folder": folder,
        "returns": result.returns,
        "benchmark": result.benchmark,
        "title": result.title,
        "periods_per_year": result.periods_per_year,
        "rf": rf,
        "benchmark_name": bench_name,
        "regimes": result.regimes,
    }


_JOB_FRAMES = ("returns", "benchmark", "regimes")


def encode_job(job: dict[str, Any]) -> bytes:
    """A `report_job` as one message: parquet for the series and tables, JSON for the rest."""
    import pandas as pd

    meta: dict[str, Any] = {"folder": str(job["folder"]), "names": {}}
    meta |= {
        key: _plain(value) for key, value in job.items() if key not in {"folder", *_JOB_FRAMES}
    }
    blobs = {}
    for key in _JOB_FRAMES:
        value = job[key]
        if isinstance(value, pd.Series):
            name = value.name
            meta["names"][key] = name if name is None or isinstance(name, str) else str(name)
            value = value.to_frame("value")
        if value is not None:
            buffer = io.BytesIO()
            value.to_parquet(buffer)
            blobs[key] = buffer.getvalue()
    return pack(meta, blobs)


def decode_job(data: bytes) -> dict[str, Any]:
    """`encode_job`'s message back into `write_run_reports` keyword arguments."""
    import pandas as pd

    meta, blobs = unpack(data)
    names = meta.pop("names")
    job: dict[str, Any] = {**meta, "folder": Path(meta["folder"])}
    for key in _JOB_FRAMES:
        frame = pd.read_parquet(io.BytesIO(blobs[key])) if key in blobs else None
        job[key] = (
            frame["value"].rename(names[key]) if key in names and frame is not None else frame
        )
    return job


def pack(meta: dict[str, Any], blobs: dict[str, bytes] | None = None) -> bytes:
    """One message between playbook's processes: JSON `meta` and named binary `blobs`.

    Nothing in it is code (no pickle): a message can only be data.
    """
    blobs = blobs or {}
    header = json.dumps({"meta": meta, "blobs": [[k, len(v)] for k, v in blobs.items()]})
    encoded = header.encode()
    return struct.pack(">Q", len(encoded)) + encoded + b"".join(blobs.values())


def unpack(data: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    """`pack`'s meta and blobs; ValueError if `data` is not one whole message."""
    if len(data) < 8:
        raise ValueError("not a message")
    (size,) = struct.unpack(">Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    blobs, at = {}, 8 + size
    for name, length in header["blobs"]:
        blobs[name] = data[at : at + length]
        at += length
    if at != len(data):
        raise ValueError("a cut or padded message")
    return header["meta"], blobs


def _plain(value: Any) -> Any:
    """A JSON-able version of a scalar (numpy scalars as Python ones, paths as text)."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return str(value) if isinstance(value, Path) else value


def write_reports(result: RunResult, folder: Path) -> None:
    """The quantstats tearsheet and the equity/drawdown PNG of one run, in this process."""
    from engine.report import write_run_reports

    write_run_reports(**report_job(result, folder))


@contextmanager
def bounded_gc() -> Iterator[None]:
    """`BOUNDED_GC` thresholds for one bounded job, the previous ones restored after."""
    before = gc.get_threshold()
    gc.set_threshold(*BOUNDED_GC)
    try:
        yield
    finally:
        # lowered thresholds would start a pass over everything allocated meanwhile (~0.1 s
        # after vectorbt); moved to the oldest generation, it waits for a full collection
        gc.freeze()
        gc.set_threshold(*before)
        gc.unfreeze()


# --- the report process ------------------------------------------------------------------


class ReportProcess:
    """A child process that draws one run's tearsheet and PNG, started before they are due.

    `start()` launches it; it imports quantstats and matplotlib, then waits. `start_pages`
    (given to `engine.results.write_run`) hands it the run's returns and the temporary run
    folder, and returns the `finish(ok)` the run calls once its own files are written:
    `finish(True)` waits for the pages and raises here whatever failed there (an OSError
    stays an OSError, so a full disk is still exit 5); `finish(False)` kills it first.

    It never outlives this process: it runs in its own session, so Ctrl-C reaches only this
    process, which kills it before the temporary folder is removed; on Linux it is killed
    when this process dies (PR_SET_PDEATHSIG); `close()` (on every exit of the `open`
    block) kills and reaps it; and a report that takes longer than `REPORT_TIMEOUT_S` is an
    error, not a hang.
    """

    def __init__(self, proc: subprocess.Popen[bytes], log: IO[bytes]) -> None:
        self.proc = proc
        self._log = log
        self._sender: threading.Thread | None = None

    @classmethod
    def start(cls) -> ReportProcess | None:
        """Launch the report process; None if it cannot be started (draw in-process then)."""
        if os.name != "posix":  # select() on pipes, sessions and fork are POSIX's
            return None
        env = dict(os.environ)
        env[PARENT_ENV] = str(os.getpid())
        root = str(Path(__file__).resolve().parents[1])  # where `engine` is importable from
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        log = tempfile.TemporaryFile()  # noqa: SIM115  (closed by close())
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", _CHILD_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        except OSError:
            log.close()
            return None
        return cls(proc, log)

    @classmethod
    @contextmanager
    def open(cls, enabled: bool = True) -> Iterator[ReportProcess | None]:
        """A started report process (or None) that is killed and reaped when the block ends."""
        process = cls.start() if enabled else None
        try:
            yield process
        finally:
            if process is not None:
                process.close()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def start_pages(self, result: RunResult, folder: Path) -> Callable[[bool], None]:
        """Hand over the run's reports (folder: the temporary run folder); see the class."""
        data = encode_job(report_job(result, folder))
        # from a thread: the child reads only once its imports are done, and this process
        # has its data files to write meanwhile
        self._sender = threading.Thread(target=self._send, args=(data,), daemon=True)
        self._sender.start()
        return self._finish

    def _send(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            stdin.write(data)
            stdin.close()
        except OSError:  # it died: `_finish` reports how
            pass

    def _finish(self, ok: bool) -> None:
        if not ok:
            self.close()
            return
        try:
            reply = self._reply()
        finally:
            self.close()
        reissue_warnings(reply.get("warnings", []))
        if not reply.get("ok"):
            raise rebuild_error(reply["error"])

    def _reply(self) -> dict[str, Any]:
        stdout = self.proc.stdout
        assert stdout is not None
        data = read_until_eof(stdout.fileno(), REPORT_TIMEOUT_S)
        if data is None:
            raise RuntimeError(f"the report process did not finish within {REPORT_TIMEOUT_S:g} s")
        try:
            reply: dict[str, Any] | None = unpack(data)[0] if data else None
        except ValueError:
            reply = None
        if not isinstance(reply, dict):
            code = self.proc.wait()
            raise RuntimeError(f"the report process stopped (exit code {code}){self._last_words()}")
        return reply

    def _last_words(self) -> str:
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return f": {lines[-1]}" if lines else ""

    def close(self) -> None:
        """Kill the process if it still runs and reap it (idempotent)."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self._sender is not None:
            self._sender.join(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                with suppress(OSError):
                    stream.close()
        self._log.close()


def report_process_main() -> None:
    """The report process: die with the parent, ignore Ctrl-C (the parent decides), serve."""
    die_with_parent(int(os.environ.get(PARENT_ENV) or 0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(*BOUNDED_GC)
    from engine.report import serve

    serve()


def die_with_parent(parent: int) -> None:
    """Have Linux SIGKILL this process when its parent dies; exit now if it already has."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if parent and os.getppid() != parent:
        os._exit(0)


def read_until_eof(fd: int, timeout: float | None) -> bytes | None:
    """Everything from `fd` until its writer closes it; None after `timeout` s (None: wait)."""
    chunks: list[bytes] = []
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def warning_record(caught: warnings.WarningMessage) -> tuple[str, str, str, str, int]:
    """A warning as plain data, to raise it again in another process."""
    category = caught.category
    return (str(caught.message), category.__module__, category.__qualname__, caught.filename,
            caught.lineno)  # fmt: skip


def reissue_warnings(records: list[tuple[str, str, str, str, int]]) -> None:
    """Warn here what another process warned (its category if loaded here, else UserWarning)."""
    for message, module, qualname, filename, lineno in records:
        category = getattr(sys.modules.get(module), qualname, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = UserWarning
        warnings.warn_explicit(message, category, filename, lineno, module=module)


def describe_error(exc: BaseException) -> dict[str, Any]:
    """What another process needs to raise the same error (`rebuild_error`)."""
    import traceback

    return {
        "type": type(exc).__name__,
        "module": type(exc).__module__,
        "message": str(exc),
        "args": list(exc.args) if all(isinstance(a, str | int | float) for a in exc.args) else None,
        "errno": exc.errno if isinstance(exc, OSError) else None,
        "strerror": exc.strerror if isinstance(exc, OSError) else None,
        "filename": _plain(exc.filename) if isinstance(exc, OSError) else None,
        "problem": _text(getattr(exc, "problem", None)),
        "fix": _text(getattr(exc, "fix", None)),
        "traceback": "".join(traceback.format_exception(exc)),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def rebuild_error(error: dict[str, Any]) -> BaseException:
    """The error `describe_error` described: an OSError with its errno, a PlaybookError with
    its fix, a built-in exception by type, anything else a RuntimeError naming the type."""
    exc: BaseException
    kind, message = error["type"], error["message"]
    if error["errno"] is not None:
        args = (error["errno"], error["strerror"])
        exc = OSError(*args, error["filename"]) if error["filename"] else OSError(*args)
    elif error["module"] == "engine.errors":
        from engine import errors

        cls = getattr(errors, kind, errors.PlaybookError)
        exc = cls(error["problem"] or message, error["fix"] or "")
    else:
        cls = getattr(builtins, kind, None) if error["module"] == "builtins" else None
        exc = RuntimeError(f"{kind}: {message}")
        if isinstance(cls, type) and issubclass(cls, Exception):
            with suppress(Exception):
                exc = cls(*error["args"]) if error.get("args") is not None else cls(message)
    exc.add_note("raised in the report process:\n" + error["traceback"])
    return exc

"""Measurement 4: `playbook run` and `playbook --help` wall time, against `python -c pass`.

Each command runs as a fresh subprocess, timed from spawn to exit. Cold: a new, empty
NUMBA_CACHE_DIR, so vectorbt's numba functions compile; warm: the same cache directory again.
Run folders go to a temporary directory.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.report import Row

REPO = Path(__file__).resolve().parents[1]


def playbook_command() -> list[str]:
    """The installed console script next to this interpreter (no pyenv shim in the timing)."""
    script = Path(sys.executable).parent / "playbook"
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from engine.cli import main; main()"]


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=900
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {' / '.join(tail)}")
    return seconds


def median_of(command: list[str], repeats: int, env: dict[str, str] | None = None) -> float:
    return statistics.median(timed(command, env) for _ in range(repeats))


def python_startup(repeats: int) -> float:
    return median_of([sys.executable, "-c", "pass"], repeats)


def run_startup(ctx) -> list[Row]:
    repeats = 3 if ctx.quick else 7
    reference = python_startup(repeats)
    ctx.shared["python_startup_s"] = reference
    help_s = median_of([*playbook_command(), "--help"], repeats)
    return [
        Row(
            "4 cli",
            "playbook --help",
            help_s,
            "s",
            reference,
            "python -c pass",
            help_s / reference,
            "x python startup",
            "< 1 s",
            help_s < 1.0,
            note=f"median of {repeats}",
        )
    ]


# what `import vectorbt` costs a run, which declines its unused optional imports
# (engine.cli.optional_imports, as `playbook` does: engine.cli.app.command_line_settings)
VECTORBT_AS_A_RUN = (
    "from engine.cli.optional_imports import declined\n"
    "with declined('IPython', 'ipywidgets'):\n    import vectorbt"
)


def run_cli(ctx) -> list[Row]:
    repeats = 1 if ctx.quick else 5
    reference = ctx.shared.get("python_startup_s") or python_startup(3 if ctx.quick else 7)
    rows = []
    for label, code, why in (
        ("import vectorbt", "import vectorbt", "with everything its __init__ imports"),
        (
            "import vectorbt, as a run does",
            VECTORBT_AS_A_RUN,
            "paid by every run (engine.core.simulate_kernel imports it), IPython declined",
        ),
        (
            "import quantstats",
            "import quantstats",
            "paid by a run with a tearsheet, after the simulation (in the same process)",
        ),
    ):
        seconds = median_of([sys.executable, "-c", code], 3 if ctx.quick else 5)
        rows.append(
            Row(
                "4 cli",
                label,
                seconds,
                "s",
                reference,
                "python -c pass",
                seconds / reference,
                "x python startup",
                note=why,
            )
        )
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        results = Path(tmp) / "results"
        for report in (True, False):
            label = "with tearsheet" if report else "--no-report"
            cache = Path(tmp) / f"numba-{'report' if report else 'noreport'}"
            cache.mkdir()
            env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PLAYBOOK_RESULTS": str(results)}
            command = [*playbook_command(), "run", "60-40", "--results-dir", str(results)]
            if not report:
                command.append("--no-report")
            ctx.log(f"  playbook run 60-40 {label}: cold ...")
            cold = timed(command, env)
            ctx.log(f"  playbook run 60-40 {label}: warm x{repeats} ...")
            warm = median_of(command, repeats, env)
            rows.append(
                Row(
                    "4 cli",
                    f"playbook run 60-40 {label}, cold numba cache",
                    cold,
                    "s",
                    reference,
                    "python -c pass",
                    cold / reference,
                    "x python startup",
                    note="fresh NUMBA_CACHE_DIR: vectorbt's numba functions compile",
                )
            )
            rows.append(
                Row(
                    "4 cli",
                    f"playbook run 60-40 {label}, warm",
                    warm,
                    "s",
                    reference,
                    "python -c pass",
                    warm / reference,
                    "x python startup",
                    "< 5 s" if report else "",
                    (warm < 5.0) if report else None,
                    note=f"median of {repeats}, same NUMBA_CACHE_DIR as the cold run"
                    + ("; tearsheet and PNG drawn in-process" if report else ""),
                )
            )
    return rows

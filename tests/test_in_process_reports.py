"""Reports drawn in the run's own process; `playbook report tearsheet`; no import side effects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from engine.cli import cli


def _run(results: Path, *extra: str) -> Path:
    result = CliRunner().invoke(cli, ["run", "60-40", "--results-dir", str(results), *extra])
    assert result.exit_code == 0, result.output
    (folder,) = list(results.iterdir())
    return folder


def test_report_tearsheet_redraws_a_run_folder_to_the_same_bytes(tmp_path):
    """A run's reports drawn again from its files equal those drawn in the run."""
    folder = _run(tmp_path / "with")
    drawn = {name: (folder / name).read_bytes() for name in ("tearsheet.html", "equity.png")}
    bare = _run(tmp_path / "without", "--no-report")
    assert not (bare / "tearsheet.html").exists() and not (bare / "equity.png").exists()
    result = CliRunner().invoke(cli, ["report", "tearsheet", str(bare)])
    assert result.exit_code == 0, result.output
    assert (bare / "equity.png").read_bytes() == drawn["equity.png"]
    assert (bare / "tearsheet.html").read_bytes() == drawn["tearsheet.html"]


def test_report_tearsheet_of_a_folder_that_is_not_a_run_is_one_line(tmp_path):
    result = CliRunner().invoke(cli, ["report", "tearsheet", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "(fix: " in lines[0]
    assert "is not a run folder" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_importing_the_engine_leaves_libraries_unmodified():
    """A notebook importing engine (and drawing a tearsheet) gets numba, the GC and
    quantstats' optional imports as they come; only `playbook` (engine.cli.app) sets them."""
    code = (
        "import gc, os, sys; before = gc.get_threshold(); "
        "import engine, engine.workflows.run, engine.reports.tearsheet, engine.cli; "
        "engine.reports.tearsheet.configure_plotting(); "
        "print(os.environ.get('NUMBA_CACHE_DIR'), gc.get_threshold() == before, "
        "sys.modules.get('IPython', 'absent') is not None)"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["None", "True", "True"]


def test_the_cli_entry_point_sets_them(tmp_path):
    """`playbook` itself: numba's cache folder, the bounded GC, IPython declined."""
    code = (
        "import gc, os, sys; import engine.cli.app as c; "
        "c.cli = lambda **kw: print(os.environ.get('NUMBA_CACHE_DIR') is not None, "
        "gc.get_threshold() == c.BOUNDED_GC, sys.modules.get('IPython', 1) is None); "
        "c.main()"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split() == ["True", "True", "True"]


def test_a_benchmark_child_times_in_the_settings_of_a_command():
    """`benchmarks.sweep_child` times a sweep in-process as `playbook sweep` runs it: the
    command's GC thresholds and declined imports while it works, the defaults after."""
    code = (
        "import gc, sys; from engine.cli.app import BOUNDED_GC, command_line_settings; "
        "before = gc.get_threshold()\n"
        "with command_line_settings():\n"
        "    inside = gc.get_threshold() == BOUNDED_GC and sys.modules.get('IPython', 1) is None\n"
        "print(inside, gc.get_threshold() == before, 'IPython' not in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]
    child = (Path(__file__).parents[1] / "benchmarks" / "sweep_child.py").read_text()
    assert "with command_line_settings():" in child

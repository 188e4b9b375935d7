"""Headless Chromium helpers for the page tests (run page, sweep report, compare page,
tearsheet).

Chromium logs every console message as `INFO:CONSOLE:<line>` with `--enable-logging=stderr`
(console.error included), so any CONSOLE line or "Uncaught" counts as a problem. Plotly
renders in a script, so the DOM is dumped after `--virtual-time-budget` lets it run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
)
# the plotly pages: scripts get virtual time to draw before the DOM is dumped
FLAGS = (*BASE_FLAGS, "--disable-quic", "--virtual-time-budget=8000")
TIMEOUT_S = 120
# Injected into copies only: the plotly figures drawn and every resource the page fetched.
PROBE = """<script>window.addEventListener("load", () => setTimeout(() => {
  const fetched = performance.getEntriesByType("resource").map(e => e.name);
  const plots = [...document.querySelectorAll(".js-plotly-plot")].map(p => p.id);
  const drawn = document.querySelectorAll(".js-plotly-plot .main-svg").length;
  document.body.setAttribute("data-probe", JSON.stringify({plots, drawn, fetched}));
}, 500));</script>"""


def need_chromium() -> str:
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found (apt-get install chromium)")
    return CHROMIUM


def console_problems(stderr: str) -> list[str]:
    """Chromium log lines where the page wrote to the console or threw."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def chromium(
    profile: Path,
    page: Path,
    *args: str,
    flags: tuple[str, ...] = FLAGS,
    timeout: float = TIMEOUT_S,
) -> subprocess.CompletedProcess[str]:
    """One headless Chromium run on a local page; its whole process group dies on timeout."""
    command = [need_chromium(), *flags, f"--user-data-dir={profile}", *args, page.as_uri()]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the wrapper script forks the browser: kill the group
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def probed(page: Path, workdir: Path) -> tuple[dict, str, str]:
    """Load a copy of `page` with the probe; (probe report, dumped DOM, Chromium's log)."""
    text = page.read_text(encoding="utf-8")
    assert text.count("</body>") == 1
    copy = page.with_name("probe-" + page.name)
    copy.write_text(text.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    result = chromium(workdir / f"profile-{page.stem}", copy.resolve(), "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'data-probe="([^"]*)"', result.stdout)
    assert match is not None, "the probe did not run"
    report = json.loads(match.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return report, result.stdout, result.stderr


def screenshot(page: Path, workdir: Path, shot: Path, size: tuple[int, int]) -> Path:
    """A PNG of the page as a browser shows it (after plotly has drawn)."""
    window = f"--window-size={size[0]},{size[1]}"
    result = chromium(
        workdir / f"profile-shot-{page.stem}", page.resolve(), f"--screenshot={shot}", window
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    return shot

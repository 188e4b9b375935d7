"""Screenshots of the run page and the sweep report for the docs (docs/img/run-page.png and
docs/img/sweep-report.png), taken with headless Chromium and reduced to a 256-colour PNG
so each stays well under 300 KB.

`write_page_screenshots(out_dir, data_dir)` runs hayes-pivot (on the real snapshot when
`data_dir` has one, else the synthetic market) and the 60/40 weights sweep into a scratch
folder, writes their pages and photographs the top of each.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

RUN_SHOT = "run-page.png"
SWEEP_SHOT = "sweep-report.png"
WINDOW = (1400, 2300)
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--virtual-time-budget=8000",
)


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        raise RuntimeError("headless Chromium not found (apt-get install chromium)")
    return found


def screenshot(page: Path, out: Path, window: tuple[int, int] = WINDOW) -> Path:
    """Photograph a local page after its scripts ran, as a 256-colour PNG."""
    from PIL import Image

    with tempfile.TemporaryDirectory() as scratch:
        raw = Path(scratch) / "shot.png"
        command = [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={scratch}/profile",
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={raw}",
            Path(page).resolve().as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=180)
        with Image.open(raw) as image:
            small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
            out.parent.mkdir(parents=True, exist_ok=True)
            small.save(out, format="PNG", optimize=True)
    return out


def write_page_screenshots(
    out_dir: Path = Path("docs/img"), data_dir: Path | None = None
) -> list[Path]:
    """Run, sweep, write both pages and save their screenshots into `out_dir`."""
    from engine.reports.pages.run import write_run_page_for
    from engine.reports.pages.sweep import write_sweep_page_for
    from engine.runs.config import load_run_config
    from engine.workflows.run import run_to_folder
    from engine.workflows.sweep import sweep_to_folder

    repo = Path(__file__).resolve().parents[2]
    config = load_run_config(repo / "configs" / "hayes-pivot.yaml")
    if data_dir is not None and (Path(data_dir) / "prices").is_dir():
        path = Path(data_dir).resolve()
        data = config.data.model_copy(update={"source": "directory", "path": path})
        config = config.model_copy(update={"data": data})
    with tempfile.TemporaryDirectory() as scratch:
        runs = Path(scratch) / "runs"
        folder, result = run_to_folder(config, None, results_dir=runs, report=False)
        run_page = write_run_page_for(result, folder)
        _, sweep_folder = sweep_to_folder(
            repo / "configs" / "sweeps" / "60-40-weights.yaml", out_dir=Path(scratch) / "sweep"
        )
        sweep_page = write_sweep_page_for(sweep_folder)
        return [
            screenshot(run_page, Path(out_dir) / RUN_SHOT),
            screenshot(sweep_page, Path(out_dir) / SWEEP_SHOT),
        ]

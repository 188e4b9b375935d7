"""`playbook scenario table`: playbooks x named scenarios, every cell on the same paths.

Each cell is exactly what `playbook scenario run PLAYBOOK --scenario NAME --paths N [--seed
S]` would compute (the same `make_paths` and `run_paths`, and by default the same seed: the
scenario's own), so a table row can be opened as its own scenario report. The folder is
written whole or not at all: the page, the CSV, the terminal table, and each cell's per-path
numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.errors import ConfigError
from engine.io.atomic import write_folder_atomically
from engine.reports.scenario import headline
from engine.reports.scenario_table import CSV, PAGE, Cell, render_page, table_frame, terminal_table
from engine.runs.config import RunConfig
from engine.runs.paths import run_paths
from engine.workflows.scenario import make_paths, path_seed

ALL = "all"


def scenario_list(names: Sequence[str]) -> list[str]:
    """The scenarios asked for, 'all' expanded to every named one, each checked (an
    unknown name fails here, before any path is run), duplicates dropped."""
    from engine.markets import load_scenario, scenario_names

    wanted: list[str] = []
    for name in names or [ALL]:
        for one in scenario_names() if name == ALL else [name]:
            if one not in wanted:
                load_scenario(one)  # ConfigError with a did-you-mean for a typo
                wanted.append(one)
    if not wanted:
        raise ConfigError("no named scenarios found", "add one under configs/scenarios/")
    return wanted


def run_table(
    playbooks: Sequence[tuple[str, RunConfig]],
    scenarios: Sequence[str],
    paths: int,
    seed: int | None,
    on_paths: Callable[[int, int], None] | None = None,
) -> list[Cell]:
    """Every (playbook, scenario) cell on `paths` paths of `seed` (None: each scenario's own
    seed, as `playbook scenario run` defaults to), playbook-major order.

    `on_paths(done, total)` counts paths over all cells.
    """
    if not playbooks:
        raise ConfigError("no playbook to run", "name a config or strategy")
    labels = [label for label, _config in playbooks]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:  # rows are told apart by label: two alike would read as one playbook
        raise ConfigError(
            f"two playbooks are both called {twice[0]!r}",
            "give one a `name:` in its config, or name each playbook once",
        )
    total = paths * len(playbooks) * len(scenarios)
    seeds = {scenario: path_seed(scenario, seed) for scenario in scenarios}
    cells: list[Cell] = []
    for label, config in playbooks:
        for scenario in scenarios:
            before = len(cells) * paths
            markets, name = make_paths(config, scenario, paths, seeds[scenario], "regime", None, 20)

            def report(done: int, _total: int, before: int = before) -> None:
                if on_paths is not None:
                    on_paths(before + done, total)

            outcome = run_paths(config, markets, name, seeds[scenario], on_chunk=report)
            cells.append(Cell(label, outcome))
    return cells


def write_table_folder(cells: Sequence[Cell], results_dir: Path, command: str = "") -> Path:
    """results/scenarios/<stamp>-table-<what>-<N>p-s<seed>/ (s-own: each scenario's own
    seed, when they differ) with the page, CSV and cells."""
    frame = table_frame(cells)
    first = cells[0].outcome
    what = "-".join(dict.fromkeys(frame["playbook"])) if frame["playbook"].nunique() == 1 else ""
    if frame["scenario"].nunique() == 1:
        what = "-".join(filter(None, [what, str(frame["scenario"].iloc[0])]))
    slug = re.sub(r"[^a-z0-9.-]+", "-", (what or "grid").lower()).strip("-")[:80]
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    seed = f"s{first.seed}" if frame["seed"].nunique() == 1 else "s-own"
    name = f"{stamp}-table-{slug}-{first.paths}p-{seed}"

    def fill(folder: Path) -> None:
        frame.to_csv(folder / CSV, index=False)
        (folder / PAGE).write_text(render_page(frame, command), encoding="utf-8")
        (folder / "table.txt").write_text(terminal_table(frame) + "\n", encoding="utf-8")
        for n, cell in enumerate(cells):
            part = re.sub(r"[^a-z0-9.-]+", "-", f"{cell.playbook}--{cell.outcome.scenario}".lower())
            where = folder / "cells" / f"{n:02d}-{part.strip('-')[:80]}"
            where.mkdir(parents=True)
            summary = {"playbook": cell.playbook, **headline(cell.outcome)}
            (where / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            cell.outcome.per_path.to_csv(where / "per_path.csv")

    return write_folder_atomically(Path(results_dir) / "scenarios", name, fill)

"""Progress that moves (issue 20): sweeps count parameter sets and scenarios count paths,
not chunks; a rate and an ETA are shown; nothing is drawn off a terminal."""

from __future__ import annotations

from pathlib import Path

from rich.progress import Progress, ProgressSample

from engine.io.progress import RateColumn, work_progress
from engine.workflows.sweep import sweep_to_folder

REPO = Path(__file__).resolve().parents[1]
SPEC = """\
base: {base}
grid:
  stock_weight: [0.2, 0.4, 0.6, 0.8, 1.0]
blocks: 4
chunk_size: 2
"""


class Recorder:
    """Stands in for a rich Progress: records tasks and updates."""

    def __init__(self) -> None:
        self.totals: dict[str, int] = {}
        self.completed: list[int] = []

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int) -> str:
        self.totals[description] = total
        return description

    def update(self, task: str, completed: int) -> None:
        self.completed.append(completed)


def test_sweep_progress_by_chunk_counts_sets(tmp_path: Path) -> None:
    """It counted chunks (3 here); now it counts the 5 sets, set by set as chunks finish."""
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC.format(base=REPO / "configs" / "60-40.yaml"))
    recorder = Recorder()
    sweep_to_folder(spec, out_dir=tmp_path / "out", progress=recorder)
    assert recorder.totals == {"sets": 5}
    assert sorted(recorder.completed) == [2, 4, 5]


def test_scenario_progress_moves_per_path() -> None:
    from engine.runs.config import RunConfig
    from engine.runs.paths import run_paths
    from engine.workflows.scenario import make_paths

    config = RunConfig(strategy="60-40")
    markets, label = make_paths(config, "ai-credit-crunch", 3, 7, "scenario", None, 20)
    seen: list[int] = []
    run_paths(config, markets, label, 7, on_chunk=lambda done, total: seen.append(done))
    assert seen == sorted(seen) and seen[-1] == 3 and len(set(seen)) >= 3


def test_rate_column_shows_units_per_second() -> None:
    progress = Progress(RateColumn())
    task_id = progress.add_task("sets", total=1000)
    (task,) = [t for t in progress.tasks if t.id == task_id]
    assert RateColumn().render(task).plain == "- sets/s"
    task._progress.extend([ProgressSample(0.0, 0), ProgressSample(2.0, 500)])  # 500 in 2 s
    assert RateColumn().render(task).plain == "250 sets/s"
    task._progress.clear()
    task._progress.extend([ProgressSample(0.0, 0), ProgressSample(4.0, 10)])
    assert RateColumn().render(task).plain == "2.5 sets/s"


def test_progress_is_silent_off_a_terminal() -> None:
    assert work_progress().disable is True  # pytest captures stderr: not a terminal

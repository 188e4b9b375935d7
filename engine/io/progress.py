"""Progress that moves: work counted in the units a user thinks in (parameter sets, paths),
with a rate and an ETA, on stderr, and nothing at all when stderr is not a terminal."""

from __future__ import annotations

from typing import Any

from rich.progress import ProgressColumn, Task
from rich.text import Text


class RateColumn(ProgressColumn):
    """'1,234 sets/s' from rich's own speed estimate (a moving window); '-' until known."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.description
        if speed is None:
            return Text(f"- {unit}/s", style="progress.data.speed")
        shown = f"{speed:,.1f}" if speed < 10 else f"{speed:,.0f}"
        return Text(f"{shown} {unit}/s", style="progress.data.speed")


def work_progress() -> Any:
    """A rich Progress: task description (the unit), bar, done/total, rate, ETA."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        transient=True,
        console=console,
        disable=not console.is_terminal,
    )

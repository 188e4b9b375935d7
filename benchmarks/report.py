"""Rows, the printed table, the JSON file and the machine they were measured on."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any


@dataclass
class Row:
    """One measured figure, set against a reference measured in the same run."""

    measurement: str  # e.g. "1 sweep"
    case: str  # what was measured
    value: float
    unit: str
    reference: float | None = None  # the reference's figure, same unit
    reference_case: str = ""
    ratio: float | None = None  # how many times better than the reference (>1: better)
    ratio_label: str = ""  # how to read the ratio, e.g. "x faster"
    target: str = ""
    met: bool | None = None  # None: no target, or nothing to judge (pending, extrapolated)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def chunk_layout(child: dict[str, Any]) -> str:
    """How a sweep child's sets were chunked, e.g. "5 chunks of 2,000 sets"."""
    size, chunks, sets = child["chunk_size"], child["chunks"], child["sets"]
    if chunks == 1:
        under = f", under the {size:,}-set chunk size" if sets < size else ""
        return f"1 chunk of {sets:,} sets{under}"
    return f"{chunks} chunks of {size:,} sets"


def signal_counts(child: dict[str, Any]) -> tuple[int, int, int]:
    """(signals or measures asked of the memo, signals computed, measures computed) in a
    sweep child's timed part, from its stage timers' call counts. Signals computed: frames
    (`Strategy.signals`), one per distinct set of the parameters they read."""
    calls = child.get("calls", {})
    own = {k: v for k, v in calls.items() if not k.startswith("SignalMemo.")}
    return (
        calls.get("SignalMemo.signals", 0) + calls.get("SignalMemo.measures", 0),
        sum(v for k, v in own.items() if k.endswith(".signals")),
        sum(v for k, v in own.items() if k.endswith(".measures")),
    )


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    ram_gb = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = int(line.split()[1]) / 1024**2
    except OSError:
        pass
    versions = {"python": platform.python_version()}
    for package in ("numpy", "pandas", "vectorbt", "numba", "playbook"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "ram_gb": round(ram_gb, 1),
        "platform": platform.platform(),
        "versions": versions,
        "executable": sys.executable,
    }


def fmt(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        text = f"{value:,.0f}"
    elif magnitude >= 100:
        text = f"{value:.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    elif magnitude >= 0.1:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3g}"
    return f"{text} {unit}".strip()


def table(rows: list[Row]) -> str:
    headers = ["#", "measurement", "case", "playbook", "reference", "ratio", "target", "met"]
    body = []
    for number, row in enumerate(rows, 1):
        ratio = "-" if row.ratio is None else f"{fmt(row.ratio)}{row.ratio_label}"
        ref = "-" if row.reference is None else f"{fmt(row.reference, row.unit)}"
        if row.reference_case:
            ref = f"{ref} ({row.reference_case})"
        met = {True: "yes", False: "NO", None: ""}[row.met]
        value = fmt(row.value, row.unit)
        body.append([str(number), row.measurement, row.case, value, ref, ratio, row.target, met])
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]
    lines = [" | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    notes = [f"  {i:>2}. {r.note}" for i, r in enumerate(rows, 1) if r.note]
    if notes:
        lines += ["", "notes:", *notes]
    return "\n".join(lines)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(_finite(payload), indent=1, default=_plain, allow_nan=False)
    tmp.write_text(text + "\n")
    os.replace(tmp, path)


def rows_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [_finite(asdict(r)) for r in rows]


def _finite(value: Any) -> Any:
    """NaN and inf become None, so the file is strict JSON."""
    if hasattr(value, "item") and not isinstance(value, dict | list | tuple):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)

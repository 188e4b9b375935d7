"""Issue 22: the fixed costs after a sweep's kernel (summary, heatmap, sweep.html, parquet).

`python -m benchmarks.sweep_outputs make N FOLDER` writes a synthetic sweep folder of N sets
(chunk files with the runner's columns: ids, params, three swept parameters of 100, 10 and
N/1000 values, the metrics and normal per-block moments), without running N simulations.
`python -m benchmarks.sweep_outputs time FOLDER` times each output stage on it in CPU
seconds; `python -m benchmarks.sweep_outputs end FOLDER` runs the end of a sweep (outputs
and sweep.html) once and prints its CPU seconds and peak resident memory (run it in a fresh
process per folder: 100k and 300k sets show whether memory stays flat in the sets).
`python -m benchmarks.sweep_outputs plan SPEC DATA_DIR [N]` plans a real sweep file (a
seeded sample of N sets of its grid when N is given) and prints make_plan's CPU seconds and
peak resident memory (fresh process: 100k against 1M sets of one grid).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
BLOCKS, BARS_PER_BLOCK, CHUNK = 10, 250, 2000


def make(sets: int, folder: Path, seed: int = 0) -> None:
    from engine.sweep.overfit import MOMENTS
    from engine.sweep.runner import (
        METRICS,
        _marked,
        _write_atomically,
        chunk_path,
        set_ids_digest,
    )
    from engine.sweep.spec import SweepSpec, param_id

    rng = np.random.default_rng(seed)
    grid = {"a": list(range(100)), "b": [round(0.1 * i, 1) for i in range(10)]}
    grid["c"] = list(range(max(1, -(-sets // 1000))))
    spec = SweepSpec.model_validate(
        {
            "base": str(REPO / "configs" / "60-40.yaml"),
            "grid": grid,
            "blocks": BLOCKS,
            "split": {"oos_start": "2034-01-01"},
            "walk_forward": {"train_blocks": 3},
            "heatmap": ["a", "b"],
        }
    )
    from engine.runs.config import RunConfig

    base = RunConfig(strategy="60-40")
    index = np.arange(sets)
    params = [
        {"a": int(i % 100), "b": grid["b"][(i // 100) % 10], "c": int(i // 1000)} for i in index
    ]
    ids = [param_id(p) for p in params]
    identity = {
        "spec": json.loads(spec.model_dump_json()),
        "base": json.loads(base.canonical_json()),
        "sets": sets,
        "set_ids_sha256": set_ids_digest(ids),
        "chunk_size": CHUNK,
        "shard": None,
        "fingerprint": "synthetic",
    }
    (folder / "chunks").mkdir(parents=True, exist_ok=True)
    (folder / "sweep.json").write_text(json.dumps(identity, indent=1, sort_keys=True) + "\n")
    for start in range(0, sets, CHUNK):
        rows = slice(start, min(sets, start + CHUNK))
        n = rows.stop - rows.start
        columns: dict[str, object] = {
            "id": ids[rows],
            "params": [json.dumps(p, sort_keys=True) for p in params[rows]],
            "p.a": [p["a"] for p in params[rows]],
            "p.b": [p["b"] for p in params[rows]],
            "p.c": [p["c"] for p in params[rows]],
        }
        for key in (*METRICS, "sharpe_is", "sharpe_oos", "cagr_is", "cagr_oos"):
            columns[key] = rng.normal(0.3, 0.4, n)
        mu = rng.normal(2e-4, 3e-4, n)
        sigma = rng.uniform(0.005, 0.015, n)
        for b in range(BLOCKS):
            m = rng.normal(mu, sigma / np.sqrt(BARS_PER_BLOCK))  # the block's sample mean
            k = float(BARS_PER_BLOCK)
            raw = (k, k * m, k * (sigma**2 + m**2), k * (m**3 + 3 * m * sigma**2))
            raw4 = k * (m**4 + 6 * m**2 * sigma**2 + 3 * sigma**4)
            for name, value in zip(MOMENTS, (*raw, raw4), strict=True):
                columns[f"m{b:02d}_{name}"] = np.broadcast_to(value, (n,)).astype(float)
        table = pd.DataFrame(columns)
        _write_atomically(_marked(table, "synthetic"), chunk_path(folder, start // CHUNK))


def timed(folder: Path) -> dict[str, float]:
    """CPU seconds per output stage on a finished sweep folder (CPU, not wall: the machine
    is shared), and sweep.html's size."""
    from engine.reports.heatmap import write_heatmap
    from engine.reports.pages.sweep import write_sweep_page
    from engine.sweep.runner import read_identity
    from engine.sweep.spec import SweepSpec
    from engine.sweep.summary import chunk_files, moment_slabs, summary_of
    from engine.workflows.sweep import write_outputs_of

    spec = SweepSpec.model_validate(read_identity(folder)["spec"])
    out: dict[str, float] = {}

    def clock(name: str, stage):  # type: ignore[no-untyped-def]
        start = time.process_time()
        result = stage()
        out[name] = time.process_time() - start
        return result

    write_outputs_of(folder, spec)  # sweep.parquet for the stages below
    params = spec.heatmap or tuple(list(spec.grid)[:2])
    columns = [spec.metric, *[f"p.{p}" for p in params]]
    table = clock(
        "read metric and parameters",
        lambda: pd.read_parquet(folder / "sweep.parquet", columns=columns),
    )
    slabs = moment_slabs(chunk_files(folder), spec.blocks)
    ranked = table[spec.metric].to_numpy(dtype=float)
    clock(
        "summarize (moments slab by slab)",
        lambda: summary_of(ranked, lambda i: pd.Series({"id": "", "params": "{}"}), spec, slabs),
    )
    clock(
        "heatmap.png (first: matplotlib import)",
        lambda: write_heatmap(table, params, spec.metric, folder / "heatmap.png"),
    )
    clock(
        "heatmap.png (again)",
        lambda: write_heatmap(table, params, spec.metric, folder / "heatmap.png"),
    )
    clock("write_outputs_of (all of it)", lambda: write_outputs_of(folder, spec))
    clock("sweep.html", lambda: write_sweep_page(folder))
    out["sweep.html MB"] = (folder / "sweep.html").stat().st_size / 2**20
    return out


def end_of_sweep(folder: Path) -> dict[str, float]:
    """What the end of `playbook sweep` does once the chunks exist (summary.json,
    sweep.parquet, heatmap.png, sweep.html), in this process: CPU seconds and the peak
    resident memory (VmHWM) with the imports' share apart. Run it in a fresh process per
    folder so that the peak is this stage's."""
    import matplotlib.figure  # noqa: F401  (the drawing libraries' share of the peak)
    import plotly.graph_objects  # noqa: F401

    from engine.reports.pages.sweep import write_sweep_page
    from engine.sweep.runner import read_identity
    from engine.sweep.spec import SweepSpec
    from engine.workflows.sweep import write_outputs_of

    out = {"imports peak MB": _peak_mb()}
    spec = SweepSpec.model_validate(read_identity(folder)["spec"])
    start = time.process_time()
    write_outputs_of(folder, spec)
    out["outputs CPU s"] = time.process_time() - start
    start = time.process_time()
    write_sweep_page(folder)
    out["sweep.html CPU s"] = time.process_time() - start
    out["peak MB"] = _peak_mb()
    return out


def plan_of(spec_file: Path, data_dir: Path, sets: int | None = None) -> dict[str, float]:
    """make_plan of a sweep file on a data folder, in this process: CPU seconds and the
    peak resident memory before and after planning (the imports' share apart)."""
    from engine.sweep.runner import make_plan
    from engine.sweep.spec import Sample, load_sweep

    spec, base, _ = load_sweep(spec_file)
    if sets is not None:
        spec = spec.model_copy(update={"sample": Sample(n=sets, seed=1)})
    data = base.data.model_copy(update={"source": "directory", "path": data_dir.resolve()})
    base = base.model_copy(update={"data": data})
    out = {"before planning peak MB": _peak_mb()}
    start = time.process_time()
    plan = make_plan(spec, base)
    out["make_plan CPU s"] = time.process_time() - start
    out["peak MB"] = _peak_mb()
    out["sets"] = len(plan.sets)
    return out


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM, Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(int(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1] == "plan":
        count = int(sys.argv[4]) if len(sys.argv) > 4 else None
        for key, value in plan_of(Path(sys.argv[2]), Path(sys.argv[3]), count).items():
            print(f"{key:45s} {value:8.2f}")
    else:
        stages = end_of_sweep if sys.argv[1] == "end" else timed
        for key, value in stages(Path(sys.argv[2])).items():
            print(f"{key:45s} {value:8.2f}")

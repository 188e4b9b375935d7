"""`playbook sweep` as functions: plan, run (resumable, sharded, local or dask), summarize."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.errors import ConfigError
from engine.io.atomic import write_file_atomically
from engine.reports.heatmap import write_heatmap
from engine.reports.pages.sweep import write_sweep_page_for
from engine.runs.cluster import check_executor
from engine.runs.config import RunConfig
from engine.runs.store import default_results_dir, slug
from engine.sweep.runner import (
    Plan,
    make_plan,
    merge_chunks,
    notes_in,
    read_chunk_columns,
    read_identity,
    run_plan,
)
from engine.sweep.spec import SweepSpec, load_sweep
from engine.sweep.summary import (
    chunk_files,
    is_moment,
    moment_slabs,
    moments_of,
    summarize,
    summary_of,
)


def sweep_to_folder(
    spec_file: Path,
    *,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    shard: tuple[int, int] | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    rerun_best: int = 0,
    progress: Any = None,
    on_note: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any] | None, Path]:
    """Run (or resume) a sweep; the summary, or None for a shard that must be merged."""
    if rerun_best < 0:
        raise ConfigError(f"--rerun-best {rerun_best} is negative", "give 0 or more sets")
    check_executor(executor, scheduler)  # as run_paths does: a scheduler it would not use
    spec, base, _ = load_sweep(spec_file)
    if data_dir is not None:
        data = base.data.model_copy(update={"source": "directory", "path": data_dir.resolve()})
        base = base.model_copy(update={"data": data})
        RunConfig.model_validate(base.model_dump())
    plan = make_plan(spec, base, shard)
    folder = out_dir or _default_folder(Path(spec_file), plan)
    if progress is not None:
        with progress:
            task = progress.add_task("sets", total=sum(plan.chunk_len(i) for i in plan.mine()))
            run_plan(
                plan,
                folder,
                executor=executor,
                scheduler=scheduler,
                on_chunk=_sets_done(plan, lambda sets: progress.update(task, completed=sets)),
                on_note=on_note,
            )
    else:
        run_plan(plan, folder, executor=executor, scheduler=scheduler, on_note=on_note)
    del plan  # its panels and set ids: the outputs read the chunks
    if shard is not None and shard[1] > 1:
        return None, folder
    summary = write_outputs_of(folder, spec)
    if rerun_best:
        rerun_best_sets(folder, base, spec, rerun_best)
    write_sweep_page_for(folder)  # sweep.html (engine.reports.pages.sweep)
    return summary, folder


def merge_to_folder(shard_dirs: list[Path], out_dir: Path) -> dict[str, Any]:
    merge_chunks(shard_dirs, out_dir)
    spec = SweepSpec.model_validate(read_identity(out_dir)["spec"])
    summary = write_outputs_of(out_dir, spec)
    write_sweep_page_for(out_dir)  # sweep.html (engine.reports.pages.sweep)
    return summary


def rerun_best_sets(folder: Path, base: RunConfig, spec: SweepSpec, count: int) -> list[Path]:
    """The N best sets as normal run folders (with tearsheets) under `folder/best`."""
    from engine.workflows.run import run_to_folder

    table = pd.read_parquet(Path(folder) / "sweep.parquet")
    best = table.sort_values(spec.metric, ascending=False).head(count)
    paths = []
    for row in best.itertuples(index=False):
        config = base.model_copy(
            update={"params": json.loads(row.params), "name": f"{base.strategy}-{row.id}"}
        )
        path, _ = run_to_folder(config, None, results_dir=Path(folder) / "best")
        paths.append(path)
    return paths


def _sets_done(plan: Plan, report: Callable[[int], None]) -> Callable[[int, int, int], None]:
    """run_plan's per-chunk callback as parameter sets done (chunks found on disk when a
    sweep resumes count as full chunks), so progress and its rate are in sets."""
    finished: list[int] = []
    mine = plan.mine()
    total = sum(plan.chunk_len(i) for i in mine)

    def on_chunk(done: int, _chunks: int, index: int) -> None:
        finished.append(index)
        resumed = (done - len(finished)) * plan.chunk_size
        report(min(total, resumed + sum(plan.chunk_len(i) for i in finished)))

    return on_chunk


def _default_folder(spec_file: Path, plan: Plan) -> Path:
    digest = plan.identity_sha256()[:8]
    shard = f"-shard{plan.shard[0]}of{plan.shard[1]}" if plan.shard else ""
    stem = slug(spec_file.stem, limit=60)  # never longer than a file name may be
    return default_results_dir() / "sweeps" / f"{stem}-{digest}{shard}"


def write_outputs_of(folder: Path, spec: SweepSpec) -> dict[str, Any]:
    """`write_outputs` of a finished sweep folder, read a chunk file at a time: sweep.parquet
    written chunk by chunk, the summary from the metric column and the moments slab by slab,
    the heatmap from its three columns, the best set's row from its own chunk. Memory stays
    flat in the number of sets (issue 22); the files hold what `write_outputs` writes.
    Chunks whose columns differ in type (a grid of ints and floats split across chunks) are
    joined in memory as pandas joins them, as before."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = chunk_files(folder)
    schemas = [pq.read_schema(p) for p in paths]
    notes = list(dict.fromkeys(n for schema in schemas for n in notes_in(schema.metadata or {})))
    layouts = {
        tuple((f.name, str(f.type)) for f in schema if not is_moment(f.name)) for schema in schemas
    }
    if len(layouts) > 1:
        table, moments = _table_and_moments(paths, spec.blocks)
        return write_outputs(table, spec, folder, moments, notes)
    public = [name for name, _ in layouts.pop()]
    params = spec.heatmap or tuple(list(spec.grid)[:2])
    drawn = list(dict.fromkeys([spec.metric, *[f"p.{p}" for p in params]]))
    kept: list[pd.DataFrame] = []  # the metric and the heatmap's parameters, a chunk each

    def write_table(tmp: Path) -> None:
        writer = None
        try:
            for path in paths:
                chunk = read_chunk_columns(path, public)
                kept.append(chunk[drawn])
                arrow = pa.Table.from_pandas(chunk, preserve_index=False)  # as to_parquet
                writer = writer or pq.ParquetWriter(tmp, arrow.schema)
                writer.write_table(arrow)
        finally:
            if writer is not None:
                writer.close()

    write_file_atomically(folder / "sweep.parquet", write_table)
    drawn_table = pd.concat(kept, ignore_index=True)
    del kept[:]
    size = read_identity(folder)["chunk_size"]

    def row_at(i: int) -> pd.Series:
        return read_chunk_columns(paths[i // size], public).iloc[i % size]

    ranked = drawn_table[spec.metric].to_numpy(dtype=float)
    summary = summary_of(ranked, row_at, spec, moment_slabs(paths, spec.blocks))
    summary["notes"] = notes
    _write_summary_and_heatmap(summary, drawn_table, spec, folder)
    return summary


def _table_and_moments(paths: list[Path], blocks: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Every chunk in one table and its moments apart (chunks whose dtypes differ)."""
    parts = [read_chunk_columns(path, None) for path in paths]
    table = pd.concat(parts, ignore_index=True)
    return table[[c for c in table.columns if not is_moment(c)]], moments_of(table, blocks)


def write_outputs(
    table: pd.DataFrame,
    spec: SweepSpec,
    out_dir: Path,
    moments: np.ndarray | None = None,
    notes: list[str] | None = None,
) -> dict[str, Any]:
    """sweep.parquet (a row per set, no moments), summary.json and heatmap.png; `moments`
    when the table's moment columns were read apart (`moments_of`); `notes` the chunks'
    (summary.json's `notes`)."""
    out_dir = Path(out_dir)
    summary = {**summarize(table, spec, moments), "notes": list(notes or [])}
    public = table[[c for c in table.columns if not is_moment(c)]]
    # each file whole or not at all (Ctrl-C, full disk): the one atomic writer of outputs
    write_file_atomically(
        out_dir / "sweep.parquet", lambda tmp: public.to_parquet(tmp, index=False)
    )
    _write_summary_and_heatmap(summary, public, spec, out_dir)
    return summary


def _write_summary_and_heatmap(
    summary: dict[str, Any], table: pd.DataFrame, spec: SweepSpec, out_dir: Path
) -> None:
    """summary.json and heatmap.png (the table needs the metric and the two parameters)."""
    text = json.dumps(summary, indent=2) + "\n"
    write_file_atomically(out_dir / "summary.json", lambda tmp: tmp.write_text(text))
    params = spec.heatmap or tuple(list(spec.grid)[:2])
    if len(params) == 2:
        write_file_atomically(
            out_dir / "heatmap.png",
            lambda tmp: write_heatmap(table, params, spec.metric, tmp),
        )

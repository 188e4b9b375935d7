"""Measurement 3: peak memory of the sweep, one fresh process per size.

Peak = the process's high-water mark (VmHWM), imports and panel included. Reference: the
same process's resident memory just before the sweep (after imports, the panel and a 2-set
warm-up chunk), so the ratio is what the sweep itself adds on top of a warmed process.

Flat: with `memory_budget_mb` (1,024 MB here) every chunk holds at most the same number of
sets (2,000 on the full window), so the peak should not grow with the grid. The check reads
the largest sweep's high-water mark after each of its chunks: its peak over the mark after
its first chunk is what running more chunks of the same size added. Sweeps of other sizes
are not the reference: a sample's sets come in grid order, so a sparser sample puts more
distinct signal parameter values into each chunk (more signal frames, more memory) and a
sweep under one chunk (1,000 sets in chunks of 2,000) holds fewer sets at once. A sweep of
exactly one full chunk from its own sample is listed too. When the largest sweep is a single
chunk (`--quick`), it runs again at a chunk size fixed to the smallest size.
"""

from __future__ import annotations

from benchmarks.report import Row, chunk_layout

LIMIT_MB = 1536.0


def run(ctx) -> list[Row]:
    rows: list[Row] = []
    largest = max(ctx.sizes.sweep_sets)
    for n in ctx.sizes.sweep_sets:
        child = ctx.sweep_child(n, time_cap=_cap(ctx, n))
        rows.append(_peak_row(n, child))
    big = ctx.sweep_child(largest, time_cap=_cap(ctx, largest))
    size, how = big["chunk_size"], "chunk size chosen by the memory budget"
    if big["chunks"] >= 2 and size not in ctx.sizes.sweep_sets:
        rows.append(_peak_row(size, ctx.sweep_child(size)))  # exactly one full chunk
    if big["chunks"] < 2:  # a smoke run: force several chunks
        size = min(ctx.sizes.sweep_sets)
        big = ctx.sweep_child(largest, time_cap=_cap(ctx, largest), chunk_size=size)
        how = f"chunk size fixed to {size:,} (the sweep is one chunk at the budget's)"
    rows.append(_flat_row(largest, big, how))
    return rows


def _peak_row(n: int, child: dict) -> Row:
    peak, before = child["peak_rss_mb"], child["before"]["rss_mb"]
    per_chunk = [round(c["hwm_mb"]) for c in child["per_chunk"]]
    partial = (
        ""
        if child["complete"]
        else f"first {child['chunks_done']} of {child['chunks']} chunks (time cap); "
    )
    return Row(
        "3 memory",
        f"{n:,} sets: peak RSS ({chunk_layout(child)})",
        peak,
        "MB",
        before,
        "warmed process",
        peak / before,
        "x",
        f"< {LIMIT_MB:,.0f} MB",
        peak < LIMIT_MB,
        f"{partial}high-water mark after each chunk: {per_chunk} MB",
        {"per_chunk": child["per_chunk"], "before": child["before"]},
    )


def _flat_row(largest: int, big: dict, how: str) -> Row:
    marks = [c["hwm_mb"] for c in big["per_chunk"]]
    growth = marks[-1] / marks[0]
    partial = "" if big["complete"] else f" (first {big['chunks_done']} chunks: time cap)"
    return Row(
        "3 memory",
        f"{largest:,} sets: peak after its last chunk over peak after its first "
        f"({big['chunks_done']} chunks of {big['chunk_size']:,} sets)",
        growth,
        "x",
        target="<= 1.1x (flat)",
        met=growth <= 1.1,
        note=f"{marks[-1]:,.0f} MB vs {marks[0]:,.0f} MB{partial}; {how}; high-water mark "
        f"after each chunk: {[round(m) for m in marks]} MB",
        extra={"per_chunk": big["per_chunk"]},
    )


def _cap(ctx, sets: int) -> float | None:
    return ctx.sizes.largest_cap_s if sets == max(ctx.sizes.sweep_sets) else None

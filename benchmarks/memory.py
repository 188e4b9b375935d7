"""Measurement 3: peak memory of the sweep, one fresh process per size.

Peak = the process's high-water mark (VmHWM), imports and panel included. Reference: the
same process's resident memory just before the sweep (after imports, the panel and a 2-set
warm-up chunk), so the ratio is what the sweep itself adds on top of a warmed process.

Flat: with `memory_budget_mb` (1,024 MB here) every chunk holds at most the same number of
sets (about 2,000 on the full window), so the peak should not grow with the grid. The check
compares sweeps at the same chunk size that differ only in how many chunks they run: the
largest sweep against one of exactly one full chunk. (A sweep smaller than a chunk, such as
1,000 sets in chunks of 2,000, holds fewer sets at once and would flatter the growth.) When
the largest sweep is itself under two chunks (`--quick`), both run at a chunk size fixed to
the smallest size, so the check still sees several chunks.
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
    rows.append(_flat_row(ctx, largest))
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


def _flat_row(ctx, largest: int) -> Row:
    big = ctx.sweep_child(largest, time_cap=_cap(ctx, largest))
    size = big["chunk_size"]
    if big["chunks"] >= 2:
        small = ctx.sweep_child(size)  # exactly one full chunk, at the same chunk size
        how = "chunk size chosen by the memory budget"
    else:  # a smoke run: force several chunks
        size = min(ctx.sizes.sweep_sets)
        small = ctx.sweep_child(size, chunk_size=size)
        big = ctx.sweep_child(largest, time_cap=_cap(ctx, largest), chunk_size=size)
        how = f"chunk size fixed to {size:,} (the largest sweep is one chunk at the budget's)"
    growth = big["peak_rss_mb"] / small["peak_rss_mb"]
    partial = "" if big["complete"] else f" (first {big['chunks_done']} chunks: time cap)"
    notes = [
        f"{big['peak_rss_mb']:,.0f} MB{partial} vs {small['peak_rss_mb']:,.0f} MB; {how}",
        f"high-water mark after each chunk: {[round(c['hwm_mb']) for c in big['per_chunk']]} MB",
    ]
    if 1_000 in ctx.sizes.sweep_sets and size > 1_000:
        notes.append(
            "the 1,000-set sweep is a single chunk of 1,000 sets (under the chunk size): "
            "it holds fewer sets at once, so it is not the reference"
        )
    return Row(
        "3 memory",
        f"peak at {largest:,} sets ({big['chunks']} chunks) over peak at {small['sets']:,} "
        f"(1 chunk), chunks of {size:,} sets",
        growth,
        "x",
        target="<= 1.1x (flat)",
        met=growth <= 1.1,
        note="; ".join(notes),
        extra={"large": big["per_chunk"], "small": small["per_chunk"]},
    )


def _cap(ctx, sets: int) -> float | None:
    return ctx.sizes.largest_cap_s if sets == max(ctx.sizes.sweep_sets) else None

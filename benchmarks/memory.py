"""Measurement 3: peak memory of the sweep, one fresh process per size.

Peak = the process's high-water mark (VmHWM), imports and panel included. Reference: the
same process's resident memory just before the sweep (after imports, the panel and a 2-set
warm-up chunk), so the ratio is what the sweep itself adds on top of a warmed process.
Flat: the largest sweep's peak over the 1,000-set one's; with `memory_budget_mb` (1,024 MB
here) every chunk holds the same number of sets, so the peak should not grow with the grid.
"""

from __future__ import annotations

from benchmarks.report import Row

LIMIT_MB = 1536.0


def run(ctx) -> list[Row]:
    rows: list[Row] = []
    peaks = {}
    largest = max(ctx.sizes.sweep_sets)
    for n in ctx.sizes.sweep_sets:
        child = ctx.sweep_child(n, time_cap=_cap(ctx, n))
        peak, before = child["peak_rss_mb"], child["before"]["rss_mb"]
        peaks[n] = peak
        per_chunk = [round(c["hwm_mb"]) for c in child["per_chunk"]]
        partial = (
            ""
            if child["complete"]
            else f"first {child['chunks_done']} of {child['chunks']} chunks (time cap); "
        )
        rows.append(
            Row(
                "3 memory",
                f"{n:,} sets: peak RSS (chunks of {child['chunk_size']} sets)",
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
        )
    full = [n for n in peaks if n >= ctx.sweep_child(n, time_cap=_cap(ctx, n))["chunk_size"]]
    if len(full) > 1:  # two sweeps that each ran whole chunks
        small = 1_000 if 1_000 in full else sorted(full)[-2]
        growth = peaks[largest] / peaks[small]
        rows.append(
            Row(
                "3 memory",
                f"peak at {largest:,} sets over peak at {small:,}",
                growth,
                "x",
                target="<= 1.1x (flat)",
                met=growth <= 1.1,
                note="chunking by memory_budget_mb keeps every chunk the same size",
            )
        )
    return rows


def _cap(ctx, sets: int) -> float | None:
    return ctx.sizes.largest_cap_s if sets == max(ctx.sizes.sweep_sets) else None

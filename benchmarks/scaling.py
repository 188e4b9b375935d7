"""Measurement 6: how a sweep's time and memory grow with bars and with parameter sets.

Each point is a sweep end to end in a fresh process (`benchmarks.sweep_child`; the median
of `child_repeats` of them). Parameter sets: 1x, 2x, 4x sets on the full window. Bars: the
window truncated to its first quarter, half and all of it (`end:`), so the panel and the
simulated window both shrink; the panel still starts where the strategy's inputs do (1998
on the real snapshot: signal warm-up). Reference for each curve: its 1x point. "signals" is
how many distinct signals the sweep computed (the benchmark grid has 1,000 distinct signal
parameter values, so a denser sample shares more of them); with hayes-pivot comparing
thresholds straight from shared measures they are a small share of a set's cost, and the
time grows about as the sets do.
"""

from __future__ import annotations

from benchmarks.report import Row, chunk_layout, fmt, signal_counts

FRACTIONS = (0.25, 0.5, 1.0)


def run(ctx) -> list[Row]:
    points = []
    for factor, n in zip((1, 2, 4), ctx.sizes.scaling_sets, strict=True):
        points.append(("sets", factor, ctx.sweep_child(n)))
    for factor, fraction in zip((1, 2, 4), FRACTIONS, strict=True):
        points.append(("bars", factor, ctx.sweep_child(ctx.sizes.scaling_bars_sets, fraction)))

    rows, lines, curve = [], [], []
    header = (
        f"{'axis':<5} {'point':<5} {'sets':>6} {'window bars':>11} {'panel bars':>10} "
        f"{'sweep s':>8} {'x 1x':>6} {'sets/s':>7} {'peak MB':>8} {'x 1x':>6} {'signals':>7}"
    )
    title = "scaling (sweep end to end, steady state, a fresh process per point)"
    lines += [title, header, "-" * len(header)]
    for axis in ("sets", "bars"):
        base = next(c for a, f, c in points if a == axis and f == 1)
        for a, factor, child in points:
            if a != axis:
                continue
            t_ratio = child["seconds"] / base["seconds"]
            m_ratio = child["peak_rss_mb"] / base["peak_rss_mb"]
            curve.append(
                {
                    "axis": axis,
                    "factor": factor,
                    "sets": child["sets"],
                    "window_bars": child["bars"],
                    "panel_bars": child["panel_bars"],
                    "seconds": child["seconds"],
                    "time_ratio": t_ratio,
                    "sets_per_second": child["sets_per_second"],
                    "peak_rss_mb": child["peak_rss_mb"],
                    "memory_ratio": m_ratio,
                    "chunk_size": child["chunk_size"],
                    "chunks": child["chunks"],
                    "signals_computed": signal_counts(child)[1],
                    "stages": child["stages"],
                }
            )
            lines.append(
                f"{axis:<5} {f'{factor}x':<5} {child['sets']:>6,} {child['bars']:>11,} "
                f"{child['panel_bars']:>10,} {child['seconds']:>8.2f} {t_ratio:>6.2f} "
                f"{child['sets_per_second']:>7.1f} {child['peak_rss_mb']:>8.0f} {m_ratio:>6.2f} "
                f"{signal_counts(child)[1]:>7,}"
            )
            if factor == 1:
                continue
            rows.append(
                Row(
                    "6 scaling",
                    f"{factor}x {axis} ({child['sets']:,} sets, {child['bars']:,} bars): time",
                    child["seconds"],
                    "s",
                    base["seconds"],
                    "1x",
                    t_ratio,
                    "x of 1x",
                    note=f"peak {fmt(child['peak_rss_mb'], 'MB')} = {m_ratio:.2f}x of 1x "
                    f"({fmt(base['peak_rss_mb'], 'MB')}); {chunk_layout(child)}; "
                    f"{signal_counts(child)[1]:,} signals computed "
                    f"(1x: {signal_counts(base)[1]:,})",
                )
            )
    ctx.details["scaling"] = curve
    ctx.shared.setdefault("extra_text", []).append("\n".join(lines))
    return rows

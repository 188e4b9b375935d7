"""Measurement 5: the scenario engine, 1,000 paths of one playbook.

`playbook scenario run hayes-pivot --paths N` in a fresh process, against a warm
`playbook run hayes-pivot --no-report` (one path, end to end) in the same run: the ratio
is how many single runs the scenario engine does in the time of one, per path.

The scenario engine is being written alongside this benchmark; when its command does not
work yet the row says "pending" and why. Two probes (10 and 100 paths) give the start-up
and the cost per path; when 1,000 paths would take longer than the budget, the largest
count that fits is measured and the 1,000-path time extrapolated (and labelled so).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

from benchmarks.cli_timing import median_of, playbook_command, timed
from benchmarks.report import Row

TARGET = "hayes-pivot"
ISSUE_PATHS, ISSUE_TARGET_S = 10_000, 60.0  # issue 22: 10,000 paths in under 60 s on 2 cores


def run(ctx) -> list[Row]:
    paths = ctx.sizes.scenario_paths
    with tempfile.TemporaryDirectory(prefix="bench-scenario-") as tmp:
        env = {**os.environ, "PLAYBOOK_RESULTS": str(Path(tmp) / "results")}
        command = [*playbook_command(), "scenario", "run", TARGET, "--results-dir", tmp]
        probe_paths = 10
        try:
            probe = timed([*command, "--paths", str(probe_paths)], env)
        except (RuntimeError, OSError) as exc:
            return [pending(paths, f"`playbook scenario run` does not work yet: {exc}")]
        ctx.log(f"  scenario probe: {probe_paths} paths in {probe:.1f} s")
        per_path = probe / probe_paths  # an overestimate: includes start-up
        if paths > 100 and per_path * paths > ctx.sizes.scenario_budget_s:
            second = timed([*command, "--paths", "100"], env)
            ctx.log(f"  scenario probe: 100 paths in {second:.1f} s")
            per_path = max((second - probe) / 90, 1e-3)  # the marginal cost of a path
        startup = max(probe - per_path * probe_paths, 0.0)
        measured = paths
        if startup + per_path * paths > ctx.sizes.scenario_budget_s:
            fits = (ctx.sizes.scenario_budget_s - startup) / per_path
            measured = max(probe_paths, int(fits))
        ctx.log(f"  playbook scenario run {TARGET} --paths {measured} ...")
        seconds = timed([*command, "--paths", str(measured)], env)
        single = median_of(
            [*playbook_command(), "run", TARGET, "--no-report", "--results-dir", tmp], 3, env
        )
    estimate = (
        seconds
        if measured == paths
        else probe + (seconds - probe) * ((paths - probe_paths) / max(measured - probe_paths, 1))
    )
    rate = measured / seconds
    # issue 22's count, from the measured run's marginal cost per path (start-up once)
    marginal = (seconds - probe) / max(measured - probe_paths, 1)
    issue_s = probe + marginal * (ISSUE_PATHS - probe_paths)
    return [
        Row(
            "5 scenario",
            f"{paths:,} paths of {TARGET} (playbook scenario run)",
            estimate,
            "s",
            single,
            "1 run, 1 path",
            single * paths / estimate,
            "x faster than separate runs",
            note=(
                "measured"
                if measured == paths
                else f"EXTRAPOLATED linearly from {measured} paths in {seconds:.1f} s "
                f"and {probe_paths} in {probe:.1f} s (budget {ctx.sizes.scenario_budget_s:.0f} s)"
            )
            + f"; {rate:.1f} paths/s end to end"
            + f"; {ISSUE_PATHS:,} paths EXTRAPOLATED {issue_s:.0f} s wall "
            f"(issue 22 target < {ISSUE_TARGET_S:.0f} s)",
            extra={
                "measured_paths": measured,
                "measured_seconds": seconds,
                "probe_s": probe,
                "issue_paths_estimate_s": issue_s,
            },
        )
    ]


def pending(paths: int, why: str) -> Row:
    return Row(
        "5 scenario",
        f"{paths:,} paths of {TARGET}: PENDING",
        math.nan,
        "s",
        note=why,
    )

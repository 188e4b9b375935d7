"""The benchmark workload: a hayes-pivot sweep over 2014-2026 daily history.

Base: `configs/hayes-pivot-alts.yaml` (70% BTC, 15% ZEC, 15% HYPE once each lists; fees 10 bps,
slippage 10 bps; cash earns DTB3), on the real snapshot in `../shared/data` through a
directory source when it is there ($PLAYBOOK_SHARED_DATA overrides), else on the embedded
SYNTHETIC market. Every parameter set simulates 4 instruments (BTC-USD, ZEC-USD, HYPE-USD,
CASH); its signals read 7 more price series (QQQ, GLD, IGV, XLP, XLY, KRE and BTC itself) and
5 FRED series. On the snapshot the window is 2014-09-17 .. 2025-11-19 (ZEC's and HYPE's files
end there), 4,081 daily bars.

The grid widens the shipped `configs/sweeps/hayes-pivot-thresholds.yaml` to 30,000 sets;
each size is a seeded sample of it, so 100, 1,000 and 10,000 sets are alike per set.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from engine.runs.config import RunConfig, load_run_config
from engine.sweep.spec import Range, Sample, Split, SweepSpec

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PLAYBOOK_SHARED_DATA", REPO.parent / "shared" / "data"))
BASE_CONFIG = REPO / "configs" / "hayes-pivot-alts.yaml"
SEED = 20260101

GRID: dict[str, Any] = {
    "btc_divergence_pct": Range(start=10, stop=32.5, step=2.5),  # 10 values
    "kre_drawdown_pct": Range(start=10, stop=32.5, step=2.5),  # 10
    "hy_widening_pts": Range(start=0.5, stop=2.75, step=0.25),  # 10
    "rearm_days": list(range(0, 271, 30)),  # 10
    "btc_weight": [0.4, 0.55, 0.7],  # with 15% ZEC and 15% HYPE
}


@dataclass(frozen=True)
class Workload:
    base: RunConfig
    data: str  # what the bars are: "real: <path>" or "SYNTHETIC"
    grid: dict[str, Any] = field(default_factory=lambda: GRID)
    oos_start: date | None = None  # the split (default: 2022, or 2035 on the synthetic market)

    def spec(self, sets: int, chunk_size: int | None = None) -> SweepSpec:
        """`sets` of the grid, sampled; chunks sized by the memory budget unless given."""
        oos = self.oos_start or pd.Timestamp("2022-01-01" if self.real else "2035-01-01").date()
        return SweepSpec(
            base=Path("benchmark"),
            grid=self.grid,
            sample=Sample(n=sets, seed=SEED),
            blocks=12,
            split=Split(oos_start=oos),
            memory_budget_mb=1024,
            chunk_size=chunk_size,
        )

    @property
    def real(self) -> bool:
        return self.data.startswith("real")

    def with_bars(self, fraction: float, panel_index: pd.DatetimeIndex) -> Workload:
        """The same sweep on the first `fraction` of the window (panel and window truncated),
        its out-of-sample split two thirds of the way in (a sweep refuses a split outside its
        window, 471becb)."""
        start = pd.Timestamp(self.base.start) if self.base.start else panel_index[0]
        days = panel_index[panel_index >= start]
        kept = days[: max(1, round(len(days) * fraction))]
        base = self.base.model_copy(update={"end": kept[-1].date()})
        return Workload(base, self.data, self.grid, kept[len(kept) * 2 // 3].date())


# the library comparisons' rule (benchmarks/trend_rule.py): 250 x 40 = 10,000 sets
TREND_CONFIG = REPO / "benchmarks" / "trend_rule.yaml"
TREND_GRID: dict[str, Any] = {
    "lookback_bars": list(range(5, 255)),
    "threshold_pct": [round(-5 + 0.5 * i, 1) for i in range(40)],
}


def trend_workload(force_synthetic: bool = False) -> Workload:
    """QQQ's trend rule from 2014 on the snapshot (else on the synthetic market)."""
    base = load_run_config(TREND_CONFIG)
    if not force_synthetic and (SHARED_DATA / "prices").is_dir():
        data = base.data.model_copy(update={"source": "directory", "path": SHARED_DATA.resolve()})
        base = RunConfig.model_validate(base.model_copy(update={"data": data}).model_dump())
        return Workload(base, f"real: {SHARED_DATA.resolve()} (directory source)", TREND_GRID)
    return Workload(base, "SYNTHETIC (embedded market, seed 20300101)", TREND_GRID)


WORKLOADS = {"hayes-pivot": lambda synthetic: workload(synthetic), "trend": trend_workload}


def workload(force_synthetic: bool = False) -> Workload:
    base = load_run_config(BASE_CONFIG)
    if not force_synthetic and (SHARED_DATA / "prices").is_dir():
        data = base.data.model_copy(update={"source": "directory", "path": SHARED_DATA.resolve()})
        base = RunConfig.model_validate(base.model_copy(update={"data": data}).model_dump())
        return Workload(base, f"real: {SHARED_DATA.resolve()} (directory source)")
    # the synthetic market's BTC starts with its calendar; the alts list later
    base = base.model_copy(update={"start": None})
    return Workload(synthetic_start(base), "SYNTHETIC (embedded market, seed 20300101)")


def synthetic_start(base: RunConfig) -> RunConfig:
    from engine.runs.backtest import make_source

    first = make_source(base).prices("BTC-USD").index[0]
    return base.model_copy(update={"start": pd.Timestamp(first).date()})

"""Named market regimes and how a run did in each.

The catalog is embedded from shared/reference/regimes.csv (dated facts); a config may add or
override regimes by name (`regimes:`), and the synthetic market brings its own scenario
phases. A regime's return is the product of the daily returns of the bars after its start
and up to its end (peak close to trough close), so it reads like the dated facts.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from engine.core import metrics
from engine.errors import ConfigError
from engine.io.yaml_models import Frozen, did_you_mean


class Regime(Frozen):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="id, e.g. gfc")
    start: dt.date = Field(description="first day (a peak close, for a bust)")
    end: dt.date = Field(description="last day")
    description: str = Field("", description="one line")
    facts: str = Field("", description="dated facts about the regime")

    @model_validator(mode="after")
    def _ordered(self) -> Regime:
        if self.start >= self.end:
            raise ValueError(f"regime {self.name}: start {self.start} is not before end {self.end}")
        return self


def embedded_regimes() -> tuple[Regime, ...]:
    with resources.files("engine.reference").joinpath("regimes.csv").open() as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    return tuple(Regime(**row) for row in frame.to_dict("records"))


def merge_regimes(base: tuple[Regime, ...], extra: tuple[Regime, ...]) -> tuple[Regime, ...]:
    """The catalog with a config's regimes added; same name replaces."""
    merged = {r.name: r for r in base}
    merged.update({r.name: r for r in extra})
    return tuple(sorted(merged.values(), key=lambda r: (r.start, r.name)))


def find_regime(name: str, catalog: tuple[Regime, ...]) -> Regime:
    for regime in catalog:
        if regime.name == name:
            return regime
    names = [r.name for r in catalog]
    hint = did_you_mean(
        name, names, cutoff=0.4, otherwise=f"this data's regimes are: {', '.join(names)}"
    )
    raise ConfigError(f"unknown regime {name!r}", hint)


def regime_table(
    returns: pd.Series,
    benchmark: pd.Series | None,
    regimes: tuple[Regime, ...],
) -> pd.DataFrame:
    """Per regime: coverage, return, max drawdown, volatility and the benchmark's return.

    Volatility is annualized with the regime's own bars per calendar year, so a weekday-only
    regime inside a run that later trades 7 days a week is not scaled as if it had weekends.

    Regimes the run does not cover are kept and marked `none` (their numbers are NaN, not 0);
    partly covered ones are measured on the covered part and marked `partial`.
    """
    rows = []
    first, last = returns.index[0], returns.index[-1]
    for regime in regimes:
        start, end = pd.Timestamp(regime.start), pd.Timestamp(regime.end)
        inside = (returns.index > start) & (returns.index <= end)
        if not inside.any():
            coverage = "none"
        elif first <= start and last >= end:
            coverage = "full"
        else:
            coverage = "partial"
        window = returns[inside]
        bench = benchmark[inside] if benchmark is not None else None
        has = len(window) > 0
        rows.append(
            {
                "regime": regime.name,
                "start": regime.start.isoformat(),
                "end": regime.end.isoformat(),
                "coverage": coverage,
                "bars": int(inside.sum()),
                "return": metrics.total_return(window) if has else np.nan,
                "max_drawdown": metrics.max_drawdown(window) if has else np.nan,
                "volatility": metrics.volatility(window, metrics.periods_per_year(window.index))
                if has
                else np.nan,
                "benchmark_return": metrics.total_return(bench)
                if has and bench is not None
                else np.nan,
                "description": regime.description,
            }
        )
    return pd.DataFrame(rows)

"""A generated market as a data source: one scenario path, or the embedded default market."""

from __future__ import annotations

import pandas as pd

from engine.core.regimes import Regime
from engine.data.sources import did_you_mean_symbol
from engine.errors import DataError
from engine.markets.generator import generate_paths
from engine.markets.model import load_scenario
from engine.markets.synthetic import DEFAULT_SCENARIO, DEFAULT_SEED, SyntheticMarket, with_trackers


class MarketSource:
    """A generated market (one scenario path) as a source: prices, macro, events, regimes."""

    kind = "synthetic"
    synthetic = True

    def __init__(self, market: SyntheticMarket, scenario: str, seed: int, path: int = 0) -> None:
        self.market, self.scenario, self.seed, self.path = market, scenario, seed, path

    def prices(self, symbol: str) -> pd.DataFrame:
        frame = self.market.prices.get(symbol)
        if frame is None:
            raise DataError(
                f"unknown symbol {symbol!r}: the synthetic market has no such asset",
                did_you_mean_symbol(symbol, sorted(self.market.prices))
                or f"use one of {', '.join(sorted(self.market.prices))}",
            )
        return frame[["adj_close"]].rename(columns={"adj_close": "price"})

    def macro(self, series_id: str) -> pd.Series | None:
        return self.market.macro.get(series_id)

    def events(self) -> pd.DataFrame:
        return self.market.events[["date", "kind", "description"]].copy()

    def describe(self) -> dict[str, str]:
        info = {"source": self.kind, "scenario": self.scenario, "seed": str(self.seed)}
        return {**info, "path": str(self.path)} if self.path else info

    def regimes(self) -> tuple[Regime, ...]:
        phases = self.market.regimes
        return tuple(
            Regime(name=r.name, start=r.start.date(), end=r.end.date(), description=r.description)
            for r in phases.itertuples(index=False)
        )


class SyntheticSource(MarketSource):
    """The embedded default market: one seeded path of a documented scenario, offline."""

    def __init__(self, seed: int, scenario: str | None = None) -> None:
        name = scenario or DEFAULT_SCENARIO
        super().__init__(generate_default_market(seed, name), name, seed)


def generate_default_market(
    seed: int = DEFAULT_SEED, scenario: str = DEFAULT_SCENARIO
) -> SyntheticMarket:
    """Path 0 of `scenario` (a name in configs/scenarios or a YAML path) at `seed`, with OHLCV
    bars and the trackers. Same seed, same bits; another seed, another path of the same story
    (same calendar, phases and events)."""
    (market,) = generate_paths(load_scenario(scenario), 1, seed, ohlcv=True)
    return with_trackers(market, seed)

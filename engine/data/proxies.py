"""Opt-in, named proxies: history for a symbol before its first bar, from another series.

`ProxySource(inner, {"QQQ": "^NDX"})` serves QQQ's real prices from its first bar on and,
before it, ^NDX's prices scaled so the series is continuous at QQQ's first bar: the returns
before that bar are the proxy's, the returns after it are QQQ's. Every splice is recorded in
`describe()` ("QQQ<-^NDX before 1999-03-10") and in `notes`, so a run's fingerprint says so:
a proxy is never silent. Without a `proxies` mapping nothing changes (the engine's default:
an asset is untradable before its first bar).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from engine.core.regimes import Regime
from engine.data.sources import Source
from engine.errors import DataError


class ProxySource:
    """Wraps a source; splices named proxies before their symbols' first bars."""

    def __init__(self, inner: Source, proxies: Mapping[str, str]) -> None:
        for symbol, proxy in proxies.items():
            if symbol == proxy:
                raise DataError(f"proxy for {symbol} is itself", "name a different series")
        self.inner = inner
        self.proxies = dict(proxies)
        self.kind = inner.kind
        self.synthetic = inner.synthetic
        self.applied: dict[str, str] = {}  # symbol -> "QQQ<-^NDX before 1999-03-10"
        self._notes: list[str] = []

    @property
    def notes(self) -> list[str]:
        return [*getattr(self.inner, "notes", []), *self._notes]

    def prices(self, symbol: str) -> pd.DataFrame:
        frame = self.inner.prices(symbol)
        proxy = self.proxies.get(symbol)
        if proxy is None:
            return frame
        spliced, label = splice(frame["price"], self.inner.prices(proxy)["price"], symbol, proxy)
        if label is None:
            note = f"{symbol}: proxy {proxy} has no data before {frame.index[0].date()}; unused"
            if note not in self._notes:
                self._notes.append(note)
            return frame
        if symbol not in self.applied:
            self.applied[symbol] = label
            self._notes.append(
                f"{symbol} before {frame.index[0].date()} is {proxy}'s returns (proxy, opt-in)"
            )
        return spliced.to_frame("price")

    def macro(self, series_id: str) -> pd.Series | None:
        return self.inner.macro(series_id)

    def events(self) -> pd.DataFrame:
        return self.inner.events()

    def regimes(self) -> tuple[Regime, ...]:
        return self.inner.regimes()

    def describe(self) -> dict[str, str]:
        described = dict(self.inner.describe())
        if self.applied:
            described["proxies"] = "; ".join(self.applied[s] for s in sorted(self.applied))
        else:
            configured = ", ".join(f"{s}<-{p}" for s, p in sorted(self.proxies.items()))
            described["proxies"] = f"none applied (configured: {configured})"
        return described

    def prefetch(self, symbols: Iterable[str], macro_ids: Iterable[str] = ()) -> None:
        """Pass a batch through, proxies included, when the inner source batches."""
        symbols = list(symbols)
        extra = [self.proxies[s] for s in symbols if s in self.proxies]
        prefetch: Any = getattr(self.inner, "prefetch", None)
        if prefetch is not None:
            prefetch([*symbols, *extra], list(macro_ids))


def splice(
    real: pd.Series, proxy: pd.Series, symbol: str, proxy_name: str
) -> tuple[pd.Series, str | None]:
    """Proxy prices before `real`'s first bar, scaled to meet it; (series, label or None)."""
    real = real.dropna()
    proxy = proxy.dropna()
    first = real.index[0]
    before = proxy[proxy.index < first]
    if before.empty:
        return real, None
    anchor = proxy[proxy.index <= first].iloc[-1]  # the proxy on the first bar, or just before
    scaled = before * (real.iloc[0] / anchor)
    spliced = pd.concat([scaled, real]).astype("float64")
    spliced.index.name = "date"
    spliced.name = "price"
    return spliced, f"{symbol}<-{proxy_name} before {first.date()}"

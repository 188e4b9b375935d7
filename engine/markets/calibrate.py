"""Scenario defaults from history: per-asset drift, volatility and factor loadings per window.

A scenario phase is "a regime like gfc" or "like the 2022 tightening". This module measures
what those windows looked like in a data directory (`../shared/data` by default): for each
asset its annualized drift (mean daily log return x periods per year: 365 for crypto, 252 for
equities) and volatility, the correlation matrix of daily returns on the business days every
asset traded, and factor loadings fitted to that matrix (see `fit_loadings`). The scenario
YAMLs carry the resulting numbers as constants, each naming its window, so scenarios run
offline; `python -m engine.markets.calibrate --data-dir ../shared/data --window gfc` prints
them again, and a test checks the YAMLs still match when the snapshot is present.

Windows are the named regimes of `engine/reference/regimes.csv` plus `EXTRA_WINDOWS` (dated
below, each with the reason it is a useful analogue).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import engine
from engine.core.regimes import embedded_regimes
from engine.data.sources import DirectorySource, Source
from engine.errors import DataError
from engine.io.yaml_models import did_you_mean

FACTORS: tuple[str, ...] = ("tech", "crypto", "gold", "duration", "credit")

# Which factors each asset may load on. Every asset loads on the broad risk factor `tech`
# (equities, and crypto trading as levered tech); the others are the thesis's channels:
# crypto's own factor, gold (with crypto's "digital gold"), duration (long bonds, with gold,
# staples, banks and lenders via real rates and the curve) and consumer credit (banks,
# lenders, discretionary). Assets not listed load on `tech` only.
FACTOR_PATTERN: dict[str, tuple[str, ...]] = {
    "BTC-USD": ("tech", "crypto", "gold"),
    "ETH-USD": ("tech", "crypto", "gold"),
    "ZEC-USD": ("tech", "crypto", "gold"),
    "HYPE-USD": ("tech", "crypto", "gold"),
    "SPY": ("tech", "credit"),
    "QQQ": ("tech",),
    "NVDA": ("tech",),
    "IGV": ("tech",),
    "XLP": ("tech", "duration"),
    "XLY": ("tech", "credit"),
    "KRE": ("tech", "credit", "duration"),
    "AXP": ("tech", "credit", "duration"),
    "GLD": ("tech", "gold", "duration"),
    "TLT": ("tech", "duration"),
}
# A factor's sign is fixed by its anchor asset (first one present), which loads positively.
ANCHORS: dict[str, tuple[str, ...]] = {
    "tech": ("SPY", "QQQ", "NVDA"),
    "crypto": ("BTC-USD", "ETH-USD"),
    "gold": ("GLD",),
    "duration": ("TLT",),
    "credit": ("KRE", "AXP"),
}
PURE_FACTORS = ("gold", "crypto", "duration")  # the anchor is the factor (no idiosyncratic part)
CALIBRATION_SYMBOLS: tuple[str, ...] = tuple(FACTOR_PATTERN)
MAX_SYSTEMATIC = 0.98  # sum of squared loadings per asset: keep some idiosyncratic risk


@dataclass(frozen=True)
class Window:
    name: str
    start: dt.date
    end: dt.date
    description: str


# Analogues the catalog lacks. Dates are closes; each window is what its name says.
EXTRA_WINDOWS: tuple[Window, ...] = (
    Window(
        "stagflation-1973",
        dt.date(1973, 1, 11),
        dt.date(1974, 10, 3),
        "Oil embargo and double-digit inflation: S&P 500 -48% peak to trough, gold more than "
        "doubles, the Fed hikes into a recession (SPY, QQQ and GLD through PROXIES)",
    ),
    Window(
        "credit-crunch-2008",
        dt.date(2007, 10, 9),
        dt.date(2008, 7, 15),
        "Subprime losses reach the banks before Lehman (Bear Stearns, IndyMac): regional "
        "banks and consumer lenders fall hard, gold rises, the Fed cuts late",
    ),
    Window(
        "crypto-winter-2022",
        dt.date(2021, 11, 10),
        dt.date(2022, 11, 21),
        "BTC's record to its post-FTX low: hikes and QT drain liquidity, bonds and tech fall",
    ),
    Window(
        "rate-plateau-2021",
        dt.date(2021, 11, 8),
        dt.date(2024, 2, 14),
        "From zero to 5.5% and a long hold: equities end flat, bonds lose, BTC round-trips",
    ),
    Window(
        "ai-boom-2023",
        dt.date(2023, 1, 3),
        dt.date(2024, 6, 18),
        "ChatGPT/AI capex melt-up to NVDA's June 2024 high; Fed holds at 5.25-5.50% with QT",
    ),
    Window(
        "ai-melt-up-2025",
        dt.date(2025, 4, 8),
        dt.date(2025, 10, 6),
        "Tariff low to BTC's record: AI leaders and crypto rally together, spreads tight",
    ),
    Window(
        "post-bear-recovery-2023",
        dt.date(2022, 10, 12),
        dt.date(2023, 7, 31),
        "Recovery after the 2022 low while the Fed keeps hiking: the soft-landing bid",
    ),
    Window(
        "gold-bull-2024",
        dt.date(2024, 2, 14),
        dt.date(2025, 10, 20),
        "Gold doubles on central-bank buying and fiscal worries while rates stay high",
    ),
    Window(
        "btc-crash-2021",
        dt.date(2021, 5, 7),
        dt.date(2021, 7, 20),
        "A false alarm: BTC halves (57k to 30k, China's mining ban, Tesla's exit) while the "
        "Nasdaq rises; no credit event follows and BTC makes a record by November",
    ),
    Window(
        "fire-alarm-2025",
        dt.date(2025, 10, 6),
        dt.date(2026, 2, 5),
        "Hayes's fire alarm (seed 001): BTC 125k to 63k while the Nasdaq-100 holds, software "
        "(IGV) falls a third, gold rises a fifth",
    ),
    Window(
        "expansion-2014",
        dt.date(2014, 9, 17),
        dt.date(2019, 12, 31),
        "A long expansion from BTC's first Yahoo bar to the eve of COVID: steady equities, "
        "low vol, gentle hikes then insurance cuts",
    ),
)

# Older stand-ins, used only when the symbol itself has no data over the window.
PROXIES: dict[str, str] = {"SPY": "^GSPC", "QQQ": "^IXIC", "GLD": "XAUUSD_LBMA_AM"}


def windows() -> dict[str, Window]:
    """Every calibration window by name: the regime catalog, then the extra analogues."""
    found = {r.name: Window(r.name, r.start, r.end, r.description) for r in embedded_regimes()}
    found.update({w.name: w for w in EXTRA_WINDOWS})
    return found


def default_data_dir() -> Path | None:
    """$PLAYBOOK_SHARED_DATA, else ../shared/data next to the project; None when absent."""
    env = os.environ.get("PLAYBOOK_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(engine.__file__).resolve().parents[1].parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "prices").is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class WindowStats:
    """One window measured: what a scenario phase calibrated from it carries."""

    window: Window
    source: str
    drift: dict[str, float]  # annualized mean daily log return
    vol: dict[str, float]  # annualized volatility of daily log returns
    correlation: pd.DataFrame  # daily log returns on common business days
    loadings: dict[str, dict[str, float]]  # fitted factor loadings (nonzero ones)
    fit_rmse: float  # root mean square error of the fitted off-diagonal correlations
    bars: dict[str, int]  # returns used per asset
    proxies: dict[str, str]  # symbol -> the stand-in measured in its place

    def implied_correlation(self) -> pd.DataFrame:
        return loadings_correlation(self.loadings, list(self.correlation.index))


def is_crypto(index: pd.DatetimeIndex) -> bool:
    """A symbol that trades on weekends is crypto (a 7-day calendar)."""
    return bool((index.day_of_week >= 5).sum() > 0.1 * len(index))


def window_stats(
    source: Source,
    window: Window | str,
    symbols: Sequence[str] = CALIBRATION_SYMBOLS,
    min_coverage: float = 0.8,
) -> WindowStats:
    """Measure one window. A symbol without data over `min_coverage` of it is measured on its
    PROXIES stand-in when that has the data, else left out."""
    if isinstance(window, str):
        window = _window(window)
    returns: dict[str, pd.Series] = {}
    drift, vol, bars, proxies = {}, {}, {}, {}
    for symbol in symbols:
        found = _window_returns(source, symbol, window, min_coverage)
        if found is None and symbol in PROXIES:
            found = _window_returns(source, PROXIES[symbol], window, min_coverage)
            if found is not None:
                proxies[symbol] = PROXIES[symbol]
        if found is None:
            continue
        log_returns, ppy = found
        drift[symbol] = float(log_returns.mean() * ppy)
        vol[symbol] = float(log_returns.std(ddof=1) * np.sqrt(ppy))
        bars[symbol] = len(log_returns)
        returns[symbol] = log_returns
    if len(returns) < 2:
        raise DataError(
            f"window {window.name}: fewer than two of {', '.join(symbols)} have data",
            "choose a window inside the data's history",
        )
    correlation = common_correlation(returns)
    loadings, rmse = fit_loadings(correlation)
    described = source.describe()
    return WindowStats(
        window=window,
        source=described.get("path") or described.get("label") or str(described),
        drift=drift,
        vol=vol,
        correlation=correlation,
        loadings=loadings,
        fit_rmse=rmse,
        bars=bars,
        proxies=proxies,
    )


def _window_returns(
    source: Source, symbol: str, window: Window, min_coverage: float
) -> tuple[pd.Series, float] | None:
    """Daily log returns inside the window and periods per year, or None without coverage."""
    try:
        price = source.prices(symbol)["price"]
    except DataError:
        return None
    crypto = is_crypto(pd.DatetimeIndex(price.index))
    start, end = pd.Timestamp(window.start), pd.Timestamp(window.end)
    inside = price.loc[start:end]
    expected = len(pd.date_range(start, end, freq="D" if crypto else "B"))
    if len(inside) < 2 or len(inside) < min_coverage * expected:
        return None
    return np.log(inside).diff().dropna(), 365.0 if crypto else 252.0


def common_correlation(returns: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Correlation of daily log returns on the weekdays every asset has a return (crypto's
    weekday returns against the same day's equity returns, as the generator correlates them)."""
    frame = pd.DataFrame(dict(returns))
    frame = frame[frame.index.day_of_week < 5].dropna()
    return frame.corr()


def loadings_correlation(
    loadings: Mapping[str, Mapping[str, float]], symbols: Sequence[str]
) -> pd.DataFrame:
    """Correlation implied by factor loadings (independent unit factors plus idiosyncratic)."""
    matrix = np.array([[loadings[s].get(f, 0.0) for f in FACTORS] for s in symbols])
    implied = matrix @ matrix.T
    np.fill_diagonal(implied, 1.0)
    return pd.DataFrame(implied, index=list(symbols), columns=list(symbols))


def fit_loadings(correlation: pd.DataFrame) -> tuple[dict[str, dict[str, float]], float]:
    """Least-squares loadings on FACTORS (sparsity from FACTOR_PATTERN) reproducing the
    off-diagonal correlations, each asset's squared loadings summing to at most 0.98.

    The gold, crypto and duration factors are their anchors' own shocks (GLD, BTC, TLT are
    held fully systematic), which pins the factors down: without it a loading could move
    between crypto and gold, and loadings fitted in different windows would not mix. Without
    its anchor in the window such a factor is left out.

    Returns the loadings (zeros dropped) and the RMS error of the fitted correlations.
    """
    symbols = list(correlation.index)
    target = correlation.to_numpy()
    upper = np.triu_indices(len(symbols), k=1)
    # A pure factor without its anchor in the window is not identified: nobody loads on it.
    absent = {f for f in PURE_FACTORS if _first_present(ANCHORS[f], symbols) is None}
    slots = [
        (i, FACTORS.index(f)) for i, s in enumerate(symbols) for f in _pattern(s) if f not in absent
    ]
    rows, cols = np.array([i for i, _ in slots]), np.array([k for _, k in slots])

    def unpack(x: np.ndarray) -> np.ndarray:
        matrix = np.zeros((len(symbols), len(FACTORS)))
        matrix[rows, cols] = x
        return matrix

    full = [
        symbols.index(a)
        for a in (_first_present(ANCHORS[f], symbols) for f in PURE_FACTORS)
        if a is not None
    ]

    def residuals(x: np.ndarray) -> np.ndarray:
        matrix = unpack(x)
        fitted = (matrix @ matrix.T)[upper] - target[upper]
        systematic = (matrix**2).sum(axis=1)
        excess = np.maximum(systematic - MAX_SYSTEMATIC, 0.0)
        shortfall = MAX_SYSTEMATIC - systematic[full]
        return np.concatenate([fitted, 10.0 * excess, shortfall])

    anchor = _first_present(ANCHORS["tech"], symbols) or symbols[0]
    tech = np.sqrt(np.clip(np.abs(target[symbols.index(anchor)]), 0.05, 0.95))
    signs = np.sign(target[symbols.index(anchor)])
    x0 = np.array([tech[i] * signs[i] if k == 0 else 0.3 for i, k in slots])
    from scipy.optimize import least_squares  # here: every run validates a scenario (windows)

    fit = least_squares(residuals, x0, bounds=(-1.0, 1.0), xtol=1e-12, ftol=1e-12)
    matrix = unpack(fit.x)
    for k, factor in enumerate(FACTORS):
        sign_by = _first_present(ANCHORS[factor], symbols)
        if sign_by is not None and matrix[symbols.index(sign_by), k] < 0:
            matrix[:, k] = -matrix[:, k]
    scale = np.sqrt(np.maximum((matrix**2).sum(axis=1) / MAX_SYSTEMATIC, 1.0))
    matrix = matrix / scale[:, None]
    rmse = float(np.sqrt(np.mean(((matrix @ matrix.T)[upper] - target[upper]) ** 2)))
    loadings = {
        s: {f: float(matrix[i, k]) for k, f in enumerate(FACTORS) if matrix[i, k] != 0.0}
        for i, s in enumerate(symbols)
    }
    return loadings, rmse


def calibrate(
    data_dir: Path | str | None = None,
    names: Sequence[str] | None = None,
    symbols: Sequence[str] = CALIBRATION_SYMBOLS,
) -> dict[str, WindowStats]:
    """Stats of each named window (default: all) from a data directory (default: the shared
    snapshot). Windows with fewer than two assets with data are skipped."""
    root = Path(data_dir) if data_dir is not None else default_data_dir()
    if root is None:
        raise DataError(
            "no data directory to calibrate from",
            "pass a folder with prices/ (e.g. ../shared/data) or set PLAYBOOK_SHARED_DATA",
        )
    source = DirectorySource(root)
    chosen = list(names) if names is not None else list(windows())
    stats = {}
    for name in chosen:
        try:
            stats[name] = window_stats(source, name, symbols)
        except DataError:
            if names is not None:
                raise
    return stats


def yaml_lines(stats: WindowStats, symbols: Sequence[str] | None = None) -> list[str]:
    """The phase entries a scenario YAML carries for this window, rounded as the YAMLs are."""
    lines = []
    for symbol in symbols or list(stats.drift):
        if symbol not in stats.drift:
            continue
        loads = ", ".join(
            f"{f}: {v:.2f}" for f, v in stats.loadings[symbol].items() if round(v, 2) != 0.0
        )
        lines.append(
            f"{symbol}: {{drift: {stats.drift[symbol]:.2f}, vol: {stats.vol[symbol]:.2f}, "
            f"loadings: {{{loads}}}, window: {stats.window.name}}}"
        )
    return lines


def _pattern(symbol: str) -> tuple[str, ...]:
    return FACTOR_PATTERN.get(symbol, ("tech",))


def _first_present(candidates: Sequence[str], symbols: Sequence[str]) -> str | None:
    return next((s for s in candidates if s in symbols), None)


def _window(name: str) -> Window:
    known = windows()
    if name not in known:
        raise DataError(
            f"unknown calibration window {name!r}",
            did_you_mean(name, known, otherwise=f"use one of {', '.join(known)}"),
        )
    return known[name]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m engine.markets.calibrate",
        description="Print scenario phase defaults (drift, vol, loadings) measured in history.",
    )
    parser.add_argument("--data-dir", default=None, help="folder with prices/ (default: shared)")
    parser.add_argument("--window", action="append", help="window name (repeatable; default all)")
    parser.add_argument("--symbols", default=",".join(CALIBRATION_SYMBOLS))
    args = parser.parse_args(argv)
    symbols = [s for s in args.symbols.split(",") if s]
    for name, stats in calibrate(args.data_dir, args.window, symbols).items():
        w = stats.window
        print(f"# {name}: {w.start}..{w.end} ({w.description}); source {stats.source}")
        proxied = ", ".join(f"{s} <- {p}" for s, p in stats.proxies.items())
        print(
            f"# loadings fit RMSE {stats.fit_rmse:.3f}"
            + (f"; proxies {proxied}" if proxied else "")
        )
        for line in yaml_lines(stats, symbols):
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The embedded default market: a seeded, fictional AI-credit-cycle scenario that runs offline.

`playbook run` on a fresh machine with no network needs prices, macro series and a Fed calendar
that tell the story the playbooks were written for. This module generates them from one
`numpy.random.Generator`: a boom, an AI credit crunch, a Fed pivot, a liquidity rally and a calm
tail, dated 2030-2037 so nobody mistakes the numbers for history.

How the story survives the noise: every asset's log return over each phase is fixed by the
scenario tables below, and the seeded shocks are shifted within each phase so they sum to zero
there (a bridge between the phase boundaries). Macro noise is pinned the same way, to dated
knots that include the phase ends. A seed therefore changes the path between phase boundaries,
never the story: the crunch always ends with BTC down 70 percent, the pivot always happens on
2032-10-03.

Mechanics per asset and phase: annualised volatility, loadings on four common factors (equity,
crypto, gold, credit) whose crypto-equity coupling depends on the phase (BTC trades as levered
tech in the crunch), Student-t shocks with 5 degrees of freedom scaled to unit variance (fat
tails), prices from cumulated log returns. Crypto trades every calendar day (quieter weekends);
equities trade Monday to Friday and their returns are drawn for business days only. TLT is
priced from DGS10 (duration plus carry) and BIL accrues DTB3 per calendar day, so rates, bonds
and cash agree. ^NDX and GC=F track QQQ and GLD.

There are no dividends in this world: `adj_close` equals `close`, and both are total-return
prices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SCENARIO_NAME = "default-ai-credit-cycle"
DEFAULT_SEED = 20300101

START = pd.Timestamp("2030-01-01")
END = pd.Timestamp("2037-12-31")


@dataclass(frozen=True)
class Phase:
    """One chapter of the story. `crypto_equity` is how strongly crypto loads on the equity
    factor on weekdays: low when crypto trades on its own, high when it trades as levered tech."""

    name: str
    start: str
    end: str
    crypto_equity: float
    description: str


PHASES: tuple[Phase, ...] = (
    Phase(
        "boom",
        "2030-01-01",
        "2031-12-31",
        0.35,
        "AI capex boom: BTC, NVDA and QQQ trend up, HY spreads near 3%, the Fed hikes from "
        "March 2031 and starts QT.",
    ),
    Phase(
        "ai-credit-crunch",
        "2032-01-01",
        "2032-09-30",
        0.95,
        "AI job losses hit consumer credit: regional banks crash, HY spreads widen to 9%, BTC "
        "falls with tech, gold and the dollar rise, liquidity drains.",
    ),
    Phase(
        "fed-pivot",
        "2032-10-01",
        "2032-10-31",
        0.60,
        "Sunday emergency facility, intermeeting cut to 0-0.25% and open-ended QE.",
    ),
    Phase(
        "liquidity-rally",
        "2032-11-01",
        "2034-12-31",
        0.45,
        "The balance sheet grows, the dollar falls, spreads normalise: BTC and alts rally hardest.",
    ),
    Phase(
        "calm-tail",
        "2035-01-01",
        "2037-12-31",
        0.30,
        "Taper, QT and a slow normalisation of rates: modest drifts.",
    ),
)
BOOM, CRUNCH, PIVOT, RALLY, CALM = PHASES

PIVOT_DATE = pd.Timestamp("2032-10-03")  # the Sunday emergency facility
HYPE_FIRST_DATE = "2031-06-01"


@dataclass(frozen=True)
class Event:
    """A dated Fed or crisis event, with the kinds of reference/fed_events.csv."""

    date: str
    kind: str
    description: str


EVENTS: tuple[Event, ...] = (
    Event("2031-03-19", "first_hike", "First hike of the cycle to 4.75-5.00 percent"),
    Event("2031-06-18", "qt_start", "QT restarts: balance-sheet runoff of 60bn per month"),
    Event("2031-09-17", "last_hike", "Last hike to 5.75-6.00 percent (5th in a row)"),
    Event("2032-03-16", "crisis", "AI layoffs: consumer card and auto ABS losses double"),
    Event("2032-06-11", "crisis", "A large regional lender fails"),
    Event("2032-09-24", "crisis", "Second wave of regional bank failures; HY primary market shut"),
    Event(
        "2032-10-03",
        "emergency_facility",
        "Sunday: Bank Term Liquidity Facility launched; two regional banks closed",
    ),
    Event("2032-10-06", "emergency_cut", "Intermeeting cut 5.75-6.00 to 0-0.25 percent"),
    Event("2032-10-20", "qe_start", "Open-ended QE: 120bn per month Treasuries and MBS"),
    Event("2034-09-20", "taper", "QE purchases tapered to zero by year end"),
    Event("2035-06-20", "qt_start", "QT begins at 30bn per month"),
    Event("2035-12-19", "first_hike", "First hike since the pivot, to 0.25-0.50 percent"),
    Event("2036-12-17", "last_hike", "Last hike of the normalisation, to 1.25-1.50 percent"),
)

# Announcement date -> effective fed funds level from the next day on (percent).
RATE_DECISIONS: tuple[tuple[str, float], ...] = (
    ("2029-12-31", 4.58),
    ("2031-03-19", 4.83),
    ("2031-05-07", 5.08),
    ("2031-06-18", 5.33),
    ("2031-07-30", 5.58),
    ("2031-09-17", 5.83),
    ("2032-10-06", 0.20),
    ("2035-12-19", 0.45),
    ("2036-03-19", 0.70),
    ("2036-06-18", 0.95),
    ("2036-09-17", 1.20),
    ("2036-12-17", 1.45),
)

FACTORS = ("equity", "crypto", "gold", "credit")
T_DOF = 5.0
CRYPTO_WEEKEND_VOL = 0.6  # weekend crypto volatility relative to weekdays


@dataclass(frozen=True)
class Asset:
    """A simulated asset. `returns` and `vols` are per phase (boom, crunch, pivot, rally, calm):
    the simple return over the phase and the annualised volatility.

    Loadings are on FACTORS. For crypto, `crypto` is the total systematic loading and `equity`
    scales the phase's crypto-equity coupling, which is carved out of it on weekdays.
    """

    symbol: str
    is_crypto: bool
    start_price: float
    base_volume: float
    returns: tuple[float, float, float, float, float]
    vols: tuple[float, float, float, float, float]
    equity: float = 0.0
    crypto: float = 0.0
    gold: float = 0.0
    credit: float = 0.0
    first_date: str = "2030-01-01"


ASSETS: tuple[Asset, ...] = (
    Asset(
        "BTC-USD",
        True,
        90_000.0,
        3.0e10,
        (2.50, -0.70, 0.15, 3.00, 0.25),
        (0.70, 0.75, 0.90, 0.65, 0.45),
        equity=1.00,
        crypto=0.98,
    ),
    Asset(
        "ETH-USD",
        True,
        4_000.0,
        1.5e10,
        (2.00, -0.76, 0.20, 4.00, 0.10),
        (0.85, 0.95, 1.10, 0.85, 0.60),
        equity=0.95,
        crypto=0.95,
    ),
    Asset(
        "ZEC-USD",
        True,
        60.0,
        1.0e8,
        (1.50, -0.80, 0.25, 5.00, -0.10),
        (1.10, 1.20, 1.30, 1.20, 0.90),
        equity=0.80,
        crypto=0.80,
    ),
    Asset(
        "HYPE-USD",
        True,
        40.0,
        3.0e8,
        (0.80, -0.82, 0.30, 6.00, -0.20),
        (1.30, 1.30, 1.40, 1.30, 1.00),
        equity=0.75,
        crypto=0.75,
        first_date=HYPE_FIRST_DATE,
    ),
    Asset(
        "SPY",
        False,
        600.0,
        7.0e7,
        (0.35, -0.22, 0.06, 0.45, 0.25),
        (0.16, 0.28, 0.30, 0.16, 0.13),
        equity=0.97,
    ),
    Asset(
        "QQQ",
        False,
        520.0,
        4.5e7,
        (0.60, -0.32, 0.08, 0.65, 0.30),
        (0.22, 0.36, 0.38, 0.22, 0.18),
        equity=0.95,
    ),
    Asset(
        "IGV",
        False,
        100.0,
        3.0e6,
        (0.45, -0.45, 0.05, 0.40, 0.15),
        (0.26, 0.40, 0.42, 0.26, 0.20),
        equity=0.80,
    ),
    Asset(
        "XLP",
        False,
        80.0,
        1.0e7,
        (0.10, -0.02, 0.02, 0.12, 0.15),
        (0.12, 0.16, 0.18, 0.12, 0.11),
        equity=0.55,
    ),
    Asset(
        "XLY",
        False,
        220.0,
        4.0e6,
        (0.40, -0.35, 0.08, 0.50, 0.20),
        (0.20, 0.32, 0.34, 0.20, 0.16),
        equity=0.85,
    ),
    Asset(
        "KRE",
        False,
        60.0,
        1.2e7,
        (0.20, -0.60, 0.10, 0.45, 0.15),
        (0.25, 0.50, 0.55, 0.30, 0.22),
        equity=0.60,
        credit=0.60,
    ),
    Asset(
        "AXP",
        False,
        300.0,
        3.0e6,
        (0.40, -0.45, 0.08, 0.60, 0.20),
        (0.24, 0.40, 0.42, 0.24, 0.20),
        equity=0.65,
        credit=0.45,
    ),
    Asset(
        "NVDA",
        False,
        180.0,
        2.5e8,
        (2.20, -0.55, 0.15, 1.20, 0.40),
        (0.50, 0.65, 0.70, 0.50, 0.40),
        equity=0.70,
    ),
    Asset(
        "GLD",
        False,
        380.0,
        9.0e6,
        (0.25, 0.18, 0.05, 0.30, 0.20),
        (0.14, 0.18, 0.20, 0.15, 0.13),
        equity=-0.10,
        gold=0.97,
    ),
)


@dataclass(frozen=True)
class Tracker:
    """A symbol that tracks another one at a fixed ratio with a little tracking noise."""

    symbol: str
    base: str
    ratio: float
    tracking_vol: float
    volume_ratio: float


TRACKERS: tuple[Tracker, ...] = (
    Tracker("^NDX", "QQQ", 41.3, 0.0003, 0.1),
    Tracker("GC=F", "GLD", 10.85, 0.0015, 0.02),
)

TLT_DURATION = 17.0
TLT_START = 88.0
BIL_START = 91.5
RATE_ASSET_VOLUMES = {"TLT": 3.0e7, "BIL": 8.0e6}


@dataclass(frozen=True)
class MacroSpec:
    """A macro series: a deterministic path through `knots`, plus seeded noise.

    `walk` noise accumulates between knots and is pinned to zero at each of them, so the knots
    hold for every seed; otherwise it is independent per observation. `log` noise is
    multiplicative.
    """

    series_id: str
    freq: str
    knots: tuple[tuple[str, float], ...]
    noise: float
    walk: bool
    log: bool
    decimals: int
    bounds: tuple[float, float] = (0.0, np.inf)


MACRO_SPECS: tuple[MacroSpec, ...] = (
    MacroSpec(
        "WALCL",
        "W-WED",
        (
            ("2030-01-01", 7.60e6),
            ("2031-06-18", 7.55e6),
            ("2031-12-31", 7.38e6),
            ("2032-09-30", 7.05e6),
            ("2032-10-20", 7.55e6),
            ("2033-10-05", 8.90e6),
            ("2034-09-20", 9.20e6),
            ("2034-12-31", 9.22e6),
            ("2035-06-20", 9.22e6),
            ("2037-12-31", 8.70e6),
        ),
        noise=0.001,
        walk=True,
        log=True,
        decimals=0,
    ),
    MacroSpec(
        "WTREGEN",
        "W-WED",
        (
            ("2030-01-01", 750e3),
            ("2031-12-31", 700e3),
            ("2032-09-30", 900e3),
            ("2032-10-31", 600e3),
            ("2033-06-30", 500e3),
            ("2034-12-31", 650e3),
            ("2037-12-31", 750e3),
        ),
        noise=0.05,
        walk=False,
        log=True,
        decimals=0,
        bounds=(300e3, 1.0e6),
    ),
    MacroSpec(
        "RRPONTSYD",
        "B",
        (
            ("2030-01-01", 1800.0),
            ("2031-12-31", 1100.0),
            ("2032-09-30", 1750.0),
            ("2032-10-31", 1400.0),
            ("2033-06-30", 300.0),
            ("2034-12-31", 80.0),
            ("2037-12-31", 200.0),
        ),
        noise=0.015,
        walk=True,
        log=True,
        decimals=3,
        bounds=(0.0, 2500.0),
    ),
    MacroSpec(
        "M2SL",
        "MS",
        (
            ("2030-01-01", 21800.0),
            ("2031-12-31", 23100.0),
            ("2032-09-30", 22600.0),
            ("2032-10-31", 22900.0),
            ("2034-12-31", 26300.0),
            ("2037-12-31", 27800.0),
        ),
        noise=0.002,
        walk=True,
        log=True,
        decimals=1,
    ),
    MacroSpec(
        "BAMLH0A0HYM2",
        "B",
        (
            ("2030-01-01", 3.3),
            ("2030-09-30", 3.0),
            ("2031-06-30", 2.9),
            ("2031-12-31", 3.1),
            ("2032-06-30", 6.0),
            ("2032-09-30", 9.2),
            ("2032-10-31", 6.4),
            ("2033-06-30", 3.9),
            ("2034-01-01", 3.4),
            ("2034-12-31", 3.2),
            ("2037-12-31", 3.4),
        ),
        noise=0.015,
        walk=True,
        log=True,
        decimals=2,
    ),
    MacroSpec(
        "DTWEXBGS",
        "B",
        (
            ("2030-01-01", 121.0),
            ("2031-12-31", 118.0),
            ("2032-09-30", 129.0),
            ("2032-10-31", 126.0),
            ("2034-12-31", 111.0),
            ("2037-12-31", 114.0),
        ),
        noise=0.003,
        walk=True,
        log=True,
        decimals=4,
    ),
    MacroSpec(
        "DGS10",
        "B",
        (
            ("2030-01-01", 4.2),
            ("2031-12-31", 5.5),
            ("2032-09-30", 4.9),
            ("2032-10-31", 3.6),
            ("2034-12-31", 3.9),
            ("2037-12-31", 4.1),
        ),
        noise=0.012,
        walk=True,
        log=True,
        decimals=2,
    ),
    MacroSpec(
        "DGS2",
        "B",
        (
            ("2030-01-01", 4.5),
            ("2031-12-31", 5.9),
            ("2032-09-30", 5.2),
            ("2032-10-15", 0.6),
            ("2032-10-31", 0.5),
            ("2034-12-31", 1.0),
            ("2037-12-31", 1.8),
        ),
        noise=0.012,
        walk=True,
        log=True,
        decimals=2,
    ),
    MacroSpec(
        "UNRATE",
        "MS",
        (
            ("2030-01-01", 3.9),
            ("2031-06-01", 3.6),
            ("2031-12-01", 3.7),
            ("2032-09-01", 6.3),
            ("2033-03-01", 6.6),
            ("2034-12-01", 4.9),
            ("2037-12-01", 4.3),
        ),
        noise=0.05,
        walk=False,
        log=False,
        decimals=1,
    ),
)


@dataclass(frozen=True)
class SyntheticMarket:
    """One generated path of the scenario, in the shapes the real sources produce."""

    prices: dict[str, pd.DataFrame]
    macro: dict[str, pd.Series]
    events: pd.DataFrame
    regimes: pd.DataFrame
    description: str


def generate_default_market(seed: int = DEFAULT_SEED) -> SyntheticMarket:
    """Generate the default scenario. Same seed, same bits; another seed, another path through
    the same phases and events. All randomness comes from one generator, drawn in a fixed order.
    """
    rng = np.random.default_rng(seed)
    days = pd.date_range(START, END, freq="D")
    closes = _simulate_assets(rng, days)
    macro = _simulate_macro(rng)
    closes["TLT"] = _tlt_close(rng, macro["DGS10"])
    closes["BIL"] = _bil_close(macro["DTB3"])
    crypto = {a.symbol for a in ASSETS if a.is_crypto}
    prices = {
        symbol: _ohlcv(rng, close, _base_volume(symbol), opens_at_close=symbol in crypto)
        for symbol, close in closes.items()
    }
    for tracker in TRACKERS:
        prices[tracker.symbol] = _track(rng, prices[tracker.base], tracker)
    return SyntheticMarket(
        prices=prices,
        macro=macro,
        events=events_frame(),
        regimes=regimes_frame(),
        description=_description(),
    )


def events_frame() -> pd.DataFrame:
    """The scenario's Fed/crisis calendar (the same for every seed)."""
    return pd.DataFrame(
        {
            "date": pd.to_datetime([e.date for e in EVENTS]),
            "kind": [e.kind for e in EVENTS],
            "description": [e.description for e in EVENTS],
        }
    )


def regimes_frame() -> pd.DataFrame:
    """The scenario's phases as a regime table (name, start, end, description)."""
    return pd.DataFrame(
        {
            "name": [p.name for p in PHASES],
            "start": pd.to_datetime([p.start for p in PHASES]),
            "end": pd.to_datetime([p.end for p in PHASES]),
            "description": [p.description for p in PHASES],
        }
    )


def _description() -> str:
    phases = "; ".join(f"{p.name} {p.start} to {p.end}" for p in PHASES)
    return (
        f"Scenario {SCENARIO_NAME}: a fictional, seeded market from {START.date()} to "
        f"{END.date()} (not history). An AI capex boom with Fed hikes and QT gives way to an AI "
        "credit crunch (job losses hit consumer credit, regional banks fall over 45 percent, HY "
        "spreads reach 9 percent, BTC falls about 70 percent in step with tech while gold and "
        "the dollar rise and USD liquidity drains), then a Fed pivot (Sunday emergency facility "
        "on 2032-10-03, intermeeting cut to 0-0.25 percent on 2032-10-06, QE from 2032-10-20), "
        "a liquidity rally in which BTC and the alts rally hardest as the balance sheet grows and "
        f"the dollar weakens, and a calm tail of taper, QT and slow hikes. Phases: {phases}. "
        "The seed changes the noise, never the phase dates, events or phase returns."
    )


# --- prices ---------------------------------------------------------------------------------


def _student_t(rng: np.random.Generator, size: tuple[int, ...]) -> np.ndarray:
    """Fat-tailed shocks with unit variance, so loadings and vols keep their meaning."""
    return rng.standard_t(T_DOF, size=size) * np.sqrt((T_DOF - 2.0) / T_DOF)


def _phase_ids(dates: pd.DatetimeIndex) -> np.ndarray:
    """Index into PHASES of each date (dates before START count as the first phase)."""
    starts = pd.to_datetime([p.start for p in PHASES]).to_numpy()
    ids = np.searchsorted(starts, dates.to_numpy(), side="right") - 1
    return np.clip(ids, 0, len(PHASES) - 1)


def _pin(increments: np.ndarray, groups: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Shift increments within each group so they sum to the group's target: this is what
    makes the phase returns (and macro knots) exact for every seed."""
    n = len(targets)
    sums = np.bincount(groups, weights=increments, minlength=n)
    counts = np.bincount(groups, minlength=n)
    shift = np.divide(targets - sums, counts, out=np.zeros(n), where=counts > 0)
    return increments + shift[groups]


def _loadings(asset: Asset, weekday: bool) -> np.ndarray:
    """Factor loadings per phase, shape (phases, factors). Crypto's weekday equity loading
    follows the phase; on weekends there is no equity market, so crypto loads on crypto only."""
    rows = []
    for phase in PHASES:
        if not asset.is_crypto:
            rows.append([asset.equity, 0.0, asset.gold, asset.credit])
        elif weekday:
            eq = phase.crypto_equity * asset.equity
            rows.append([eq, np.sqrt(max(asset.crypto**2 - eq**2, 0.0)), 0.0, 0.0])
        else:
            rows.append([0.0, asset.crypto, 0.0, 0.0])
    return np.array(rows)


def _unit_shocks(
    asset: Asset, factors: np.ndarray, idio: np.ndarray, phases: np.ndarray, weekday: np.ndarray
) -> np.ndarray:
    """Unit-variance shocks for one asset: loadings times factors plus an idiosyncratic part."""
    shocks = np.zeros(len(phases))
    for is_weekday in (True, False):
        mask = weekday == is_weekday
        load = _loadings(asset, is_weekday)[phases[mask]]
        idio_weight = np.sqrt(np.clip(1.0 - (load**2).sum(axis=1), 0.0, None))
        shocks[mask] = (load * factors[mask]).sum(axis=1) + idio_weight * idio[mask]
    return shocks


def _daily_vols(asset: Asset, phases: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """Daily volatility per bar. Crypto spreads its annual variance over 365 days with quieter
    weekends; equities over 252 business days."""
    annual = np.array(asset.vols)[phases]
    if not asset.is_crypto:
        return annual / np.sqrt(252.0)
    weekday_scale = np.sqrt(7.0 / (5.0 + 2.0 * CRYPTO_WEEKEND_VOL**2))
    scale = np.where(weekday, weekday_scale, weekday_scale * CRYPTO_WEEKEND_VOL)
    return annual / np.sqrt(365.0) * scale


def _simulate_assets(rng: np.random.Generator, days: pd.DatetimeIndex) -> dict[str, pd.Series]:
    """Close prices of the factor-model assets on their own calendars."""
    factors = _student_t(rng, (len(days), len(FACTORS)))
    idio = _student_t(rng, (len(days), len(ASSETS)))
    weekday = np.asarray(days.day_of_week < 5)
    closes = {}
    for column, asset in enumerate(ASSETS):
        keep = days >= pd.Timestamp(asset.first_date)
        if not asset.is_crypto:
            keep &= weekday
        dates = days[keep]
        phases = _phase_ids(dates)
        shocks = _unit_shocks(asset, factors[keep], idio[keep, column], phases, weekday[keep])
        log_returns = _daily_vols(asset, phases, weekday[keep]) * shocks
        log_returns[0] = 0.0  # the first bar is the starting price
        targets = np.log1p(np.array(asset.returns))
        log_returns[1:] = _pin(log_returns[1:], phases[1:], targets)
        closes[asset.symbol] = pd.Series(
            asset.start_price * np.exp(np.cumsum(log_returns)), index=dates
        )
    return closes


def _tlt_close(rng: np.random.Generator, dgs10: pd.Series) -> pd.Series:
    """Long Treasuries priced from the 10-year yield: minus duration times the yield change,
    plus a day-count carry, plus a little tracking noise. Rates up, TLT down."""
    yields = dgs10.to_numpy() / 100.0
    elapsed = np.diff(dgs10.index.to_numpy()).astype("timedelta64[D]").astype(float)
    log_returns = np.zeros(len(yields))
    log_returns[1:] = -TLT_DURATION * np.diff(yields) + yields[:-1] * elapsed / 365.0
    log_returns[1:] += 0.001 * rng.standard_normal(len(yields) - 1)
    return pd.Series(TLT_START * np.exp(np.cumsum(log_returns)), index=dgs10.index)


def _bil_close(dtb3: pd.Series) -> pd.Series:
    """A T-bill fund: each calendar day accrues the last published DTB3 / 365."""
    days = pd.date_range(dtb3.index[0], dtb3.index[-1], freq="D")
    rate = dtb3.reindex(days).ffill().shift(1).fillna(dtb3.iloc[0]).to_numpy()
    growth = np.cumprod(1.0 + rate / 100.0 / 365.0)
    return pd.Series(BIL_START * growth, index=days).reindex(dtb3.index)


def _base_volume(symbol: str) -> float:
    """Typical daily volume (shares; USD for crypto, as Yahoo reports it)."""
    volumes = {asset.symbol: asset.base_volume for asset in ASSETS} | RATE_ASSET_VOLUMES
    return volumes[symbol]


def _ohlcv(
    rng: np.random.Generator, close: pd.Series, base_volume: float, opens_at_close: bool
) -> pd.DataFrame:
    """Open/high/low/volume around a close path. Open gaps from the previous close (no gap for
    24/7 crypto, where the day opens at the previous close); high and low extend beyond the
    body by a fraction of the bar's move; volume rises on big moves."""
    values = close.to_numpy()
    log_returns = np.diff(np.log(values), prepend=np.log(values[0]))
    typical = _recent_volatility(log_returns)
    noise = rng.standard_normal((len(values), 4))
    gap = 0.0 if opens_at_close else 0.3 * typical
    previous = np.concatenate([[values[0]], values[:-1]])
    opens = previous * np.exp(gap * noise[:, 0])
    highs = np.maximum(opens, values) * np.exp(0.5 * typical * np.abs(noise[:, 1]))
    lows = np.minimum(opens, values) * np.exp(-0.5 * typical * np.abs(noise[:, 2]))
    surprise = np.abs(log_returns) / typical
    volume = np.round(base_volume * np.exp(0.25 * noise[:, 3] + 0.4 * np.minimum(surprise, 5.0)))
    return _price_frame(close.index, opens, highs, lows, values, volume)


def _recent_volatility(log_returns: np.ndarray) -> np.ndarray:
    """Each bar's typical move (EWM of absolute returns, span 20): ranges and gaps widen in the
    crunch and narrow in the calm tail, as they do in real bars."""
    moves = np.abs(log_returns)
    moves[0] = moves[1] if len(moves) > 1 else 0.0  # the first bar has no return of its own
    mean_abs = pd.Series(moves).ewm(span=20).mean().to_numpy()
    return np.maximum(mean_abs * np.sqrt(np.pi / 2.0), 1e-6)


def _price_frame(
    index: pd.DatetimeIndex,
    opens: np.ndarray,
    highs: np.ndarray,
    lows: np.ndarray,
    closes: np.ndarray,
    volume: np.ndarray,
) -> pd.DataFrame:
    """The price contract: date index, six float64 columns, adj_close == close."""
    return pd.DataFrame(
        {
            "open": opens,
            "high": highs,
            "low": lows,
            "close": closes,
            "adj_close": closes,
            "volume": volume,
        },
        index=pd.DatetimeIndex(index.to_numpy(), name="date"),
        dtype="float64",
    )


def _track(rng: np.random.Generator, base: pd.DataFrame, tracker: Tracker) -> pd.DataFrame:
    """A tracker's bars: the base's bars times ratio and one noise factor per bar (scaling a
    whole bar by one positive factor keeps the OHLC invariants)."""
    factor = tracker.ratio * np.exp(tracker.tracking_vol * rng.standard_normal(len(base)))
    opens, highs, lows, closes = (
        base[column].to_numpy() * factor for column in ("open", "high", "low", "close")
    )
    volume = np.round(base["volume"].to_numpy() * tracker.volume_ratio)
    return _price_frame(base.index, opens, highs, lows, closes, volume)


# --- macro ----------------------------------------------------------------------------------


def _day_numbers(dates: pd.DatetimeIndex | pd.Index) -> np.ndarray:
    """Dates as integer day counts, for np.interp and np.searchsorted."""
    return pd.DatetimeIndex(dates).to_numpy().astype("datetime64[D]").astype(np.int64)


def _knot_path(spec: MacroSpec, dates: pd.DatetimeIndex) -> np.ndarray:
    """Linear interpolation through the knots (flat beyond the ends)."""
    knot_days = _day_numbers(pd.to_datetime([d for d, _ in spec.knots]))
    return np.interp(_day_numbers(dates), knot_days, [v for _, v in spec.knots])


def _macro_noise(rng: np.random.Generator, spec: MacroSpec, dates: pd.DatetimeIndex) -> np.ndarray:
    """Seeded noise for one series: independent, or a walk pinned to zero at the last
    observation on or before each knot (so the walk wanders between knots, never away)."""
    shocks = spec.noise * _student_t(rng, (len(dates),))
    if not spec.walk:
        return shocks
    knot_days = _day_numbers(pd.to_datetime([d for d, _ in spec.knots]))
    segments = np.searchsorted(knot_days, _day_numbers(dates), side="left")
    return np.cumsum(_pin(shocks, segments, np.zeros(len(knot_days) + 1)))


def _series(series_id: str, dates: pd.DatetimeIndex, values: np.ndarray) -> pd.Series:
    """The macro contract: float values on a "date" index, named by the FRED id."""
    return pd.Series(
        values,
        index=pd.DatetimeIndex(dates.to_numpy(), name="date"),
        name=series_id,
        dtype="float64",
    )


def _knot_series(rng: np.random.Generator, spec: MacroSpec) -> pd.Series:
    """A knot-driven series on its FRED calendar, bounded and rounded like the real one."""
    dates = pd.date_range(START, END, freq=spec.freq)
    path = _knot_path(spec, dates)
    noise = _macro_noise(rng, spec, dates)
    values = path * np.exp(noise) if spec.log else path + noise
    values = np.round(np.clip(values, *spec.bounds), spec.decimals)
    return _series(spec.series_id, dates, values)


def _policy_rate(dates: pd.DatetimeIndex) -> np.ndarray:
    """Effective fed funds before noise: each decision applies from the day after it."""
    effective = _day_numbers(pd.to_datetime([d for d, _ in RATE_DECISIONS])) + 1
    levels = np.array([r for _, r in RATE_DECISIONS])
    position = np.searchsorted(effective, _day_numbers(dates), side="right") - 1
    return levels[np.clip(position, 0, len(levels) - 1)]


def _rate_series(rng: np.random.Generator) -> dict[str, pd.Series]:
    """DFF (daily), FEDFUNDS (its monthly mean) and DTB3 (bills follow the policy rate within
    days, a little below it)."""
    days = pd.date_range(START, END, freq="D")
    dff_values = _policy_rate(days) + 0.01 * _student_t(rng, (len(days),))
    dff = _series("DFF", days, np.round(np.clip(dff_values, 0.01, None), 2))
    fedfunds = dff.resample("MS").mean().round(2)
    fedfunds = _series("FEDFUNDS", fedfunds.index, fedfunds.to_numpy())
    bdays = pd.date_range(START, END, freq="B")
    smoothed = pd.Series(_policy_rate(bdays)).ewm(halflife=5.0).mean().to_numpy()
    bill_values = smoothed - 0.08 + 0.015 * _student_t(rng, (len(bdays),))
    dtb3 = _series("DTB3", bdays, np.round(np.clip(bill_values, 0.01, None), 2))
    return {"DFF": dff, "FEDFUNDS": fedfunds, "DTB3": dtb3}


def _weekly_m2(rng: np.random.Generator, m2sl: pd.Series) -> pd.Series:
    """WM2NS: the monthly M2 path on Mondays, not seasonally adjusted (an April tax bump)."""
    mondays = pd.date_range(START, END, freq="W-MON")
    level = np.interp(_day_numbers(mondays), _day_numbers(m2sl.index), m2sl.to_numpy())
    season = 1.0 + 0.004 * np.sin(2.0 * np.pi * (mondays.day_of_year.to_numpy() - 80) / 365.25)
    noise = np.exp(0.0015 * _student_t(rng, (len(mondays),)))
    return _series("WM2NS", mondays, np.round(level * season * noise, 1))


def _simulate_macro(rng: np.random.Generator) -> dict[str, pd.Series]:
    """All FRED series, indexed by reference date, in FRED units."""
    macro = {spec.series_id: _knot_series(rng, spec) for spec in MACRO_SPECS}
    macro["WM2NS"] = _weekly_m2(rng, macro["M2SL"])
    macro.update(_rate_series(rng))
    return macro

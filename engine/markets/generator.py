"""Regime-switching scenario paths: many seeded markets that all tell one story.

`generate_paths(scenario, n_paths, seed)` returns one `SyntheticMarket` per path. Every path
has the same calendar, phases (its regimes) and events; the story's dates are fixed and only
the noise differs, so a playbook sees the same Fed pivot on every path and its outcome spread
is the market's, not the calendar's. Phase returns are not pinned: each phase has a drift and
the path's noise around it, so a crunch is deep on most paths and mild on a few
(`Scenario.expected_returns` gives the ranges). The embedded default market of `playbook run`
is path 0 of one of these (`engine.markets.synthetic`).

Model, per phase and asset, on a calendar of every day:
- daily log return = drift / bars + vol / sqrt(bars) x shock. Bars are the bars in a
  calendar year (365.25 for crypto, which trades every day; 260.9 for equities, Monday to
  Friday, their weekend returns zero), so a phase's median log move is drift x years, and,
  as the engine annualizes with a window's bars per calendar year
  (`metrics.periods_per_year`), a path's annualized volatility as the engine measures it is
  vol. Crypto weekends are quieter (`crypto_weekend_vol`);
- shock = loadings . factors + sqrt(1 - |loadings|^2) x idiosyncratic, with independent unit
  factors, so the weekday correlation of two assets is the dot product of their loadings
  (`Scenario.correlation`). On weekends crypto's non-crypto loadings move onto the crypto
  factor (the equity, gold and bond markets are shut), keeping its variance;
- fat tails: a day's factor and idiosyncratic normals are all divided by one shared
  sqrt(chi-square(t_dof) / (t_dof - 2)), a multivariate Student-t: every asset's shock is
  exactly Student-t with `t_dof` degrees of freedom and unit variance, and the extreme days
  are common to all assets, as crashes are;
- optional per-path jitter (`jitter:`, off by default): each phase's drifts and macro moves
  scaled by one lognormal factor per path, vols by another.
Macro series follow the phases' levels (linear, in logs for positive series) plus seeded
noise pinned to those levels at every phase end; the policy rate steps on the story's
decisions (DFF daily, FEDFUNDS its monthly mean, DTB3 following within days, DGS2 the expected
average of the next two years); DGS10 moves inversely with the bond ETF (duration) and the
cash ETF accrues DTB3. Units are FRED's: WALCL and WTREGEN in
USD millions, RRPONTSYD and M2SL in USD billions, rates and spreads in percent.

Randomness: path i of a seed draws from its own stream (`SeedSequence(seed, spawn_key=(0, i +
first_stream))`, `first_stream` a scenario field, 0 by default) in a fixed order, so a path is
the same whether 10 or 1,000 are asked for, and whether `ohlcv` is on. Work is vectorized over
days and a chunk of paths (no loop over bars); one chunk of 50 paths x 8 years x 15 assets
needs tens of MB.

Price frames have the six columns of the price contract. By default they are close-only, like
the real KRE or IGV files: open, high, low and volume are NaN and close is adj_close;
`ohlcv=True` adds synthetic bars. `PathSequence` gives the paths of `generate_paths` lazily, a
chunk at a time, so a run over 10,000 paths holds one chunk of markets, not all of them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import gc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import pandas as pd

from engine.errors import ConfigError, DataError
from engine.markets.model import MACRO_SERIES, MacroKnot, Scenario
from engine.markets.synthetic import SyntheticMarket, _day_numbers, _price_frame

UNIT, DATES = "us", "datetime64[us]"  # the resolution of every other frame in playbook
CHUNK_PATHS = 50  # paths generated together: bounds the working memory
PATH_KEY, STORY_KEY, BRANCH_KEY = 0, 1, 2  # spawn keys: per path, per draw (story), branches
TWO_YEARS = 730
DAYS_A_YEAR = 365.25
PRICE_COLUMNS = pd.Index(["open", "high", "low", "close", "adj_close", "volume"])
NAN_COLUMNS, CLOSE_COLUMN, ADJ_CLOSE_COLUMN = np.array([0, 1, 2, 5]), np.array([3]), np.array([4])
M2_WEEKLY_NOISE = 0.0015
DFF_NOISE, DTB3_NOISE, DGS2_NOISE = 0.01, 0.015, 0.02  # percentage points
DTB3_HALFLIFE = 5.0  # business days for bills to follow the policy rate


# --- the story: what every path of one draw shares ------------------------------------------


@dataclass(frozen=True)
class Story:
    """Calendar, phase dates, events and rate decisions of one draw (all paths share it)."""

    scenario: Scenario
    days: pd.DatetimeIndex  # every calendar day
    starts: tuple[pd.Timestamp, ...]  # first day of each phase
    ends: tuple[pd.Timestamp, ...]  # last day of each phase
    events: pd.DataFrame  # date, kind, description
    decisions: tuple[tuple[pd.Timestamp, float], ...]

    @property
    def regimes(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "name": [p.name for p in self.scenario.phases],
                "start": pd.DatetimeIndex(self.starts),
                "end": pd.DatetimeIndex(self.ends),
                "description": [p.description for p in self.scenario.phases],
            }
        )

    def phase_of(self, dates: pd.DatetimeIndex) -> np.ndarray:
        """Index of the phase each date falls in."""
        starts = pd.DatetimeIndex(self.starts).as_unit(UNIT).asi8
        ids = np.searchsorted(starts, pd.DatetimeIndex(dates).as_unit(UNIT).asi8, side="right") - 1
        return np.clip(ids, 0, len(self.starts) - 1)


def story(scenario: Scenario, seed: int) -> Story:
    """The draw's story. Without boundary jitter it is the scenario's own dates; with it, each
    inner boundary moves by whole weeks (the same for every path of the draw)."""
    starts = [_timestamp(d) for d in scenario.phase_starts()]
    ends = [_timestamp(p.end) for p in scenario.phases]
    weeks = scenario.jitter.boundary_weeks
    new_ends = list(ends)
    if weeks and len(ends) > 1:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STORY_KEY,)))
        shifts = rng.integers(-weeks, weeks + 1, size=len(ends) - 1)
        for i, shift in enumerate(shifts):
            low = (new_ends[i - 1] if i else starts[0] - pd.Timedelta(days=1)) + pd.Timedelta(
                7, "D"
            )
            high = ends[-1] - pd.Timedelta(days=7 * (len(ends) - 1 - i))
            moved = ends[i] + pd.Timedelta(days=7 * int(shift))
            while moved < low:
                moved += pd.Timedelta(days=7)
            while moved > high:
                moved -= pd.Timedelta(days=7)
            new_ends[i] = moved
    new_starts = [starts[0]] + [e + pd.Timedelta(days=1) for e in new_ends[:-1]]

    def move(day: dt.date) -> pd.Timestamp:
        when = _timestamp(day)
        phase = int(np.searchsorted(pd.DatetimeIndex(starts), when, side="right") - 1)
        moved = new_starts[phase] + (when - starts[phase])
        while moved > new_ends[phase] and moved - pd.Timedelta(days=7) >= new_starts[phase]:
            moved -= pd.Timedelta(days=7)
        return min(moved, new_ends[phase])

    events = pd.DataFrame(
        {
            "date": pd.DatetimeIndex([move(e.date) for e in scenario.events], dtype=DATES),
            "kind": pd.Series([e.kind for e in scenario.events], dtype=str),
            "description": pd.Series([e.description for e in scenario.events], dtype=str),
        }
    )
    events = events.sort_values("date", kind="stable").reset_index(drop=True)
    decisions = tuple((move(d.date), d.rate) for d in scenario.fed_funds.decisions)
    return Story(
        scenario=scenario,
        days=pd.date_range(starts[0], ends[-1], freq="D", name="date", unit=UNIT),
        starts=tuple(new_starts),
        ends=tuple(new_ends),
        events=events,
        decisions=decisions,
    )


def _timestamp(day: dt.date | pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(day).as_unit(UNIT)


def _plain(index: pd.DatetimeIndex) -> pd.DatetimeIndex:
    """A date index as the sources produce it: named "date", no frequency attached."""
    return pd.DatetimeIndex(index.to_numpy(), name="date")


# --- the plan: everything that does not depend on the path -----------------------------------


@dataclass
class _MacroPlan:
    series_id: str
    index: pd.DatetimeIndex
    knot_values: np.ndarray  # (K,) levels (logs for log series)
    knot_phases: np.ndarray  # (K,) phase of each knot (its move is scaled by that phase's jitter)
    left: np.ndarray  # (N,) knot on or before each observation
    weight: np.ndarray  # (N,) interpolation weight of the next knot
    segments: np.ndarray  # (N,) phase of each observation (the walk is pinned at their ends)
    noise: float
    walk: bool
    log: bool
    decimals: int
    floor: float


@dataclass
class _Plan:
    scenario: Scenario
    story: Story
    symbols: list[str]
    n_phases: int
    phase_of_day: np.ndarray  # (D,)
    weekend: np.ndarray  # (D,) 1 on Saturdays and Sundays
    bars: np.ndarray  # (D, A) the asset has a bar that day
    moves: np.ndarray  # (D, A) a bar with a return (bars minus each first bar)
    log_start: np.ndarray  # (A,)
    asset_index: list[pd.DatetimeIndex]  # each asset's bar dates
    bdays: pd.DatetimeIndex
    calendar: pd.DatetimeIndex  # every day, as a plain index (DFF's)
    # per course of the phases (`course`): drift, factor and idiosyncratic weights
    courses: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )
    macro: list[_MacroPlan] = field(default_factory=list)
    policy: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (D,) before noise
    bills: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (B,) DTB3 before noise
    two_year: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (B,) DGS2 before noise
    bday_phase: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    month_starts: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))
    months: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))
    bill_day: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    def course(self, courses: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Daily drift (D, A), factor weights (D, A, F) and idiosyncratic weights (D, A) with
        each phase on its course (`path_courses`), zero where an asset has no return."""
        if courses not in self.courses:
            mu, sigma, loadings = _phase_tables(self.scenario, courses)
            idio = np.sqrt(np.clip(1.0 - (loadings**2).sum(axis=3), 0.0, None))
            phase, weekend, moves = self.phase_of_day, self.weekend, self.moves
            self.courses[courses] = (
                mu[phase, weekend] * moves,
                (sigma[..., None] * loadings)[phase, weekend] * moves[..., None],
                (sigma * idio)[phase, weekend] * moves,
            )
        return self.courses[courses]


def _plan(scenario: Scenario, seed: int, symbols: Sequence[str] | None) -> _Plan:
    tale = story(scenario, seed)
    days = tale.days
    n_days, n_assets = len(days), len(scenario.assets)
    phase_of_day = tale.phase_of(days)
    weekday = np.asarray(days.day_of_week < 5)
    assets = list(scenario.assets.values())
    crypto = np.array([a.kind == "crypto" for a in assets])

    n_phases = len(scenario.phases)
    weekend = (~weekday).astype(int)

    first_day = np.array(
        [0 if a.first_date is None else days.get_loc(_timestamp(a.first_date)) for a in assets]
    )
    bars = (np.arange(n_days)[:, None] >= first_day[None, :]) & (weekday[:, None] | crypto[None])
    moves = bars.copy()
    first_bar = bars.argmax(axis=0)
    moves[first_bar, np.arange(n_assets)] = False
    asset_index = [_plain(days[bars[:, a]]) for a in range(n_assets)]

    plan = _Plan(
        scenario=scenario,
        story=tale,
        symbols=_chosen_symbols(scenario, symbols),
        n_phases=n_phases,
        phase_of_day=phase_of_day,
        weekend=weekend,
        bars=bars,
        moves=moves,
        log_start=np.log([a.start_price for a in assets]),
        asset_index=asset_index,
        bdays=_plain(days[weekday]),
        calendar=_plain(days),
    )
    plan.macro = [_macro_plan(plan, series_id) for series_id in scenario.macro]
    _rate_plan(plan)
    return plan


def _phase_tables(
    scenario: Scenario, courses: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per phase and weekday/weekend: daily drift and vol (phases, 2, A) and loadings
    (phases, 2, A, F), each phase on its course (0: its own numbers, i: its i-th branch)."""
    n_assets, n_phases = len(scenario.assets), len(scenario.phases)
    crypto = np.array([a.kind == "crypto" for a in scenario.assets.values()])
    bars = np.where(crypto, DAYS_A_YEAR, DAYS_A_YEAR * 5.0 / 7.0)  # bars in a calendar year
    mu = np.zeros((n_phases, 2, n_assets))
    sigma = np.zeros((n_phases, 2, n_assets))
    loadings = np.zeros((n_phases, 2, n_assets, len(scenario.factors)))
    weekend_vol = scenario.crypto_weekend_vol
    weekday_scale = np.sqrt(7.0 / (5.0 + 2.0 * weekend_vol**2))
    crypto_factor = scenario.factors.index("crypto") if "crypto" in scenario.factors else None
    for p, (phase, course) in enumerate(zip(scenario.phases, courses, strict=True)):
        specs = phase.course(course)
        drift = np.array([specs[s].drift if s in specs else 0.0 for s in scenario.assets])
        vol = np.array([specs[s].vol if s in specs else 0.0 for s in scenario.assets])
        mu[p, :, :] = drift / bars
        daily = vol / np.sqrt(bars)
        sigma[p, 0] = np.where(crypto, daily * weekday_scale, daily)
        sigma[p, 1] = np.where(crypto, daily * weekday_scale * weekend_vol, daily)
        weekday_loads = scenario.loading_matrix(phase, course)
        loadings[p, 0] = weekday_loads
        weekend_loads = weekday_loads.copy()
        if crypto_factor is not None:
            total = np.sqrt((weekday_loads**2).sum(axis=1))
            weekend_loads[crypto] = 0.0
            weekend_loads[crypto, crypto_factor] = total[crypto]
        loadings[p, 1] = weekend_loads
    return mu, sigma, loadings


def path_courses(scenario: Scenario, seed: int, paths: Sequence[int]) -> np.ndarray:
    """The course each path takes in each phase, (paths, phases): 0 the phase's own
    numbers, i its i-th branch, with the branch's probability. Drawn from the path's own
    branch stream (`SeedSequence(seed, spawn_key=(2, path + first_stream))`), so branches
    leave every other draw as it was and a scenario without branches gets the same bits as
    before they existed."""
    out = np.zeros((len(paths), len(scenario.phases)), dtype=int)
    if not any(p.branches for p in scenario.phases):
        return out
    for j, path in enumerate(paths):
        stream = path + scenario.first_stream
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(BRANCH_KEY, stream)))
        draws = rng.random(len(scenario.phases))
        for p, phase in enumerate(scenario.phases):
            edges = np.cumsum([b.probability for b in phase.branches])
            taken = int(np.searchsorted(edges, draws[p], side="right"))
            out[j, p] = taken + 1 if taken < len(phase.branches) else 0
    return out


def _chosen_symbols(scenario: Scenario, symbols: Sequence[str] | None) -> list[str]:
    available = scenario.symbols()
    if symbols is None:
        return available
    chosen = list(dict.fromkeys(symbols))
    for symbol in chosen:
        if symbol not in available:
            close = difflib.get_close_matches(symbol, available, n=1, cutoff=0.5)
            raise DataError(
                f"scenario {scenario.name} has no asset {symbol!r}",
                f"did you mean {close[0]!r}?" if close else f"use one of {', '.join(available)}",
            )
    return chosen


def _macro_plan(plan: _Plan, series_id: str) -> _MacroPlan:
    scenario, tale = plan.scenario, plan.story
    spec, info = scenario.macro[series_id], MACRO_SERIES[series_id]
    index = _plain(pd.date_range(tale.days[0], tale.days[-1], freq=info.freq))
    knot_days, knot_values, knot_phases = [tale.days[0]], [spec.start], [0]
    level = spec.start
    for p, phase in enumerate(scenario.phases):
        knot = phase.macro.get(series_id)
        if isinstance(knot, MacroKnot) and knot.open is not None:
            if p == 0:
                knot_values[0] = knot.open
            else:
                knot_days.append(tale.starts[p])
                knot_values.append(knot.open)
                knot_phases.append(p)
        level = (
            level if knot is None else (knot.end if isinstance(knot, MacroKnot) else float(knot))
        )
        knot_days.append(tale.ends[p])
        knot_values.append(level)
        knot_phases.append(p)
    values = np.log(knot_values) if spec.log else np.array(knot_values, dtype=float)
    kd = _day_numbers(pd.DatetimeIndex(knot_days))
    od = _day_numbers(index)
    left = np.clip(np.searchsorted(kd, od, side="right") - 1, 0, len(kd) - 2)
    weight = np.clip((od - kd[left]) / np.maximum(kd[left + 1] - kd[left], 1), 0.0, 1.0)
    return _MacroPlan(
        series_id=series_id,
        index=index,
        knot_values=values,
        knot_phases=np.array(knot_phases),
        left=left,
        weight=weight,
        segments=tale.phase_of(index),
        noise=spec.noise,
        walk=spec.walk,
        log=spec.log,
        decimals=info.decimals,
        floor=info.floor,
    )


def _rate_plan(plan: _Plan) -> None:
    """The policy path before noise: each decision applies from the day after it."""
    scenario, days = plan.scenario, plan.story.days
    policy = np.full(len(days), scenario.fed_funds.start)
    for when, rate in plan.story.decisions:
        policy[days > when] = rate
    plan.policy = policy
    weekday = np.asarray(days.day_of_week < 5)
    smoothed = pd.Series(policy[weekday]).ewm(halflife=DTB3_HALFLIFE).mean().to_numpy()
    plan.bills = smoothed - scenario.fed_funds.bill_spread
    extended = np.concatenate([policy, np.full(TWO_YEARS, policy[-1])])
    cumulative = np.concatenate([[0.0], np.cumsum(extended)])
    forward = (cumulative[TWO_YEARS:][: len(days)] - cumulative[: len(days)]) / TWO_YEARS
    plan.two_year = forward[weekday] + scenario.fed_funds.two_year_spread
    plan.bday_phase = plan.story.phase_of(plan.bdays)
    months = days.to_period("M")
    plan.month_starts = np.flatnonzero(np.r_[True, months[1:] != months[:-1]])
    plan.months = _plain(days[plan.month_starts])
    # BIL accrues, on each calendar day, the last DTB3 published before that day.
    before = np.searchsorted(plan.bdays.asi8, days.asi8, side="left") - 1
    plan.bill_day = np.clip(before, 0, len(plan.bdays) - 1)


# --- paths ----------------------------------------------------------------------------------


def generate_paths(
    scenario: Scenario,
    n_paths: int,
    seed: int,
    symbols: Sequence[str] | None = None,
    *,
    ohlcv: bool = False,
) -> list[SyntheticMarket]:
    """`n_paths` markets of the scenario on one calendar with the same events and regimes.

    `symbols` limits the price frames (default: every asset and the cash ETF); every macro
    series is always there. Path i is the same for any `n_paths` > i.
    """
    return list(iter_paths(scenario, n_paths, seed, symbols, ohlcv=ohlcv))


def iter_paths(
    scenario: Scenario,
    n_paths: int,
    seed: int,
    symbols: Sequence[str] | None = None,
    *,
    ohlcv: bool = False,
    chunk_paths: int = CHUNK_PATHS,
) -> Iterator[SyntheticMarket]:
    """The same paths as `generate_paths`, generated a chunk at a time (bounded memory)."""
    if n_paths < 1:
        raise ConfigError(f"n_paths must be at least 1 (got {n_paths})", "ask for 1 or more paths")
    plan = _plan(scenario, seed, symbols)
    for first in range(0, n_paths, max(chunk_paths, 1)):
        yield from _chunk(plan, range(first, min(first + chunk_paths, n_paths)), seed, ohlcv)


class PathSequence(Sequence[SyntheticMarket]):
    """The markets of `generate_paths(scenario, n_paths, seed, symbols)` (close-only), made
    a chunk at a time when asked for: only the chunk last asked for is kept, so memory does not
    grow with the number of paths. Path i is the same as `generate_paths` gives (each path
    draws from its own stream); reading in order generates each chunk once."""

    def __init__(
        self,
        scenario: Scenario,
        n_paths: int,
        seed: int,
        symbols: Sequence[str] | None = None,
        chunk_paths: int = CHUNK_PATHS,
    ) -> None:
        if n_paths < 1:
            raise ConfigError(
                f"n_paths must be at least 1 (got {n_paths})", "ask for 1 or more paths"
            )
        self._plan = _plan(scenario, seed, symbols)
        self._n, self._seed, self._chunk = n_paths, seed, max(chunk_paths, 1)
        self._first, self._kept = -1, list[SyntheticMarket]()

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> SyntheticMarket: ...

    @overload
    def __getitem__(self, i: slice) -> list[SyntheticMarket]: ...

    def __getitem__(self, i: int | slice) -> SyntheticMarket | list[SyntheticMarket]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(self._n))]
        k = i + self._n if i < 0 else i
        if not 0 <= k < self._n:
            raise IndexError(f"path {i} of {self._n}")
        first = k - k % self._chunk
        if first != self._first:
            self._kept = []  # let the old chunk go before the next one is made
            paths = range(first, min(first + self._chunk, self._n))
            self._kept, self._first = _chunk(self._plan, paths, self._seed, False), first
        return self._kept[k - first]


@dataclass
class _Draws:
    """One chunk's random numbers, drawn path by path in a fixed order."""

    drift_jitter: np.ndarray  # (P, phases) standard normal
    vol_jitter: np.ndarray  # (P, phases)
    shocks: np.ndarray  # (P, D, F + A) unit-variance multivariate Student-t (factors, idio)
    macro: list[np.ndarray]  # per knot series (P, N)
    dff: np.ndarray  # (P, D)
    dtb3: np.ndarray  # (P, B)
    dgs2: np.ndarray  # (P, B)
    wm2ns: np.ndarray  # (P, weeks)
    bars: list[np.ndarray] | None  # per chosen asset (P, bars, 4) standard normal for OHLCV


def _draw(plan: _Plan, paths: range, seed: int, ohlcv: bool) -> _Draws:
    scenario = plan.scenario
    df = scenario.t_dof
    scale = np.sqrt((df - 2.0) / df)
    n_paths, n_days = len(paths), len(plan.story.days)
    width = len(scenario.factors) + len(scenario.assets)
    mondays = _mondays(plan)
    draws = _Draws(
        drift_jitter=np.empty((n_paths, plan.n_phases)),
        vol_jitter=np.empty((n_paths, plan.n_phases)),
        shocks=np.empty((n_paths, n_days, width)),
        macro=[np.empty((n_paths, len(m.index))) for m in plan.macro],
        dff=np.empty((n_paths, n_days)),
        dtb3=np.empty((n_paths, len(plan.bdays))),
        dgs2=np.empty((n_paths, len(plan.bdays))),
        wm2ns=np.empty((n_paths, len(mondays))),
        bars=None,
    )
    chosen = [s for s in plan.symbols if s in scenario.assets]
    if ohlcv:
        draws.bars = [
            np.empty((n_paths, len(plan.asset_index[list(scenario.assets).index(s)]), 4))
            for s in chosen
        ]
    for j, path in enumerate(paths):
        stream = path + scenario.first_stream
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PATH_KEY, stream)))
        draws.drift_jitter[j] = rng.standard_normal(plan.n_phases)
        draws.vol_jitter[j] = rng.standard_normal(plan.n_phases)
        normal = rng.standard_normal((n_days, width))
        normal *= np.sqrt((df - 2.0) / (2.0 * rng.standard_gamma(df / 2.0, n_days)))[:, None]
        draws.shocks[j] = normal
        for k, m in enumerate(plan.macro):
            draws.macro[k][j] = rng.standard_t(df, size=len(m.index))
        draws.dff[j] = rng.standard_t(df, size=n_days)
        draws.dtb3[j] = rng.standard_t(df, size=len(plan.bdays))
        draws.dgs2[j] = rng.standard_t(df, size=len(plan.bdays))
        draws.wm2ns[j] = rng.standard_t(df, size=len(mondays))
        if draws.bars is not None:
            for b in draws.bars:
                b[j] = rng.standard_normal(b.shape[1:])
    for array in (*draws.macro, draws.dff, draws.dtb3, draws.dgs2, draws.wm2ns):
        array *= scale
    return draws


def _chunk(plan: _Plan, paths: range, seed: int, ohlcv: bool) -> list[SyntheticMarket]:
    """The chunk's markets. Thousands of small pandas objects are built here, none of them in
    a reference cycle, so the cyclic garbage collector is paused meanwhile (it would spend a
    third of the time scanning them)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _build_chunk(plan, paths, seed, ohlcv)
    finally:
        if paused:
            gc.enable()


def _build_chunk(plan: _Plan, paths: range, seed: int, ohlcv: bool) -> list[SyntheticMarket]:
    scenario, tale = plan.scenario, plan.story
    draws = _draw(plan, paths, seed, ohlcv)
    drift_scale = np.exp(scenario.jitter.drift * draws.drift_jitter)  # (P, phases)
    vol_scale = np.exp(scenario.jitter.vol * draws.vol_jitter)
    courses = path_courses(scenario, seed, paths)  # (P, phases)
    names = list(scenario.assets)
    used = [
        a
        for a, symbol in enumerate(names)
        if symbol in plan.symbols or (scenario.bond and scenario.bond.symbol == symbol)
    ]
    log_prices = _log_prices(plan, draws, drift_scale, vol_scale, courses, used)  # (P, D, U)
    closes: dict[str, np.ndarray] = {}
    for u, a in enumerate(used):
        closes[names[a]] = np.exp(log_prices[:, plan.bars[:, a], u])
    del log_prices
    macro = _macro(plan, draws, drift_scale, closes)
    if scenario.cash is not None and scenario.cash.symbol in plan.symbols:
        closes[scenario.cash.symbol] = _cash_closes(plan, macro["DTB3"])
    frames = _frames(plan, closes, draws, ohlcv)
    regimes = tale.regimes
    return [
        SyntheticMarket(
            prices={s: frames[s][j] for s in plan.symbols},
            macro={
                series_id: pd.Series(values[j], index=index, name=series_id, copy=False)
                for series_id, (index, values) in macro.items()
            },
            events=tale.events.copy(deep=False),
            regimes=regimes.copy(deep=False),
            description=_description(plan, seed, path, courses[j]),
        )
        for j, path in enumerate(paths)
    ]


def _log_prices(
    plan: _Plan,
    draws: _Draws,
    drift_scale: np.ndarray,
    vol_scale: np.ndarray,
    courses: np.ndarray,
    used: list[int],
) -> np.ndarray:
    """Cumulated log prices of the `used` assets (the ones a run reads; every asset's shocks
    are still drawn, so each path's stream is the same) on every calendar day, (P, D, U);
    the paths on one course of the phases together."""
    n_factors = len(plan.scenario.factors)
    n_paths, n_days, _ = draws.shocks.shape
    returns = np.empty((n_paths, n_days, len(used)))
    jitter, phase = plan.scenario.jitter, plan.phase_of_day
    for combo in dict.fromkeys(map(tuple, courses.tolist())):
        rows = np.flatnonzero((courses == np.array(combo)).all(axis=1))
        drift, factor_weights, idio_weights = (a[:, used] for a in plan.course(combo))
        shocks = draws.shocks[rows]
        factors = shocks[:, :, :n_factors]
        idio = shocks[:, :, n_factors:][:, :, used]
        part = np.einsum("pdf,daf->pda", factors, factor_weights)
        part += idio_weights[None] * idio
        if jitter.vol:
            part *= vol_scale[rows][:, phase][:, :, None]
        if jitter.drift:
            part += drift[None] * drift_scale[rows][:, phase][:, :, None]
        else:
            part += drift[None]
        returns[rows] = part
    np.cumsum(returns, axis=1, out=returns)
    returns += plan.log_start[None, None, used]
    return returns


def _blend(values: np.ndarray, left: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Linear interpolation between knots for many paths: values (P, K) -> (P, N)."""
    return values[:, left] * (1.0 - weight) + values[:, left + 1] * weight


def _bridge(shocks: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """A random walk of the shocks pinned to zero at the last observation of each segment."""
    starts = np.flatnonzero(np.r_[True, segments[1:] != segments[:-1]])
    counts = np.diff(np.r_[starts, len(segments)])
    means = np.add.reduceat(shocks, starts, axis=1) / counts
    centred = shocks - np.repeat(means, counts, axis=1)
    return np.cumsum(centred, axis=1)


def _finish(values: np.ndarray, floor: float, decimals: int) -> np.ndarray:
    out = np.round(np.maximum(values, floor), decimals)
    out.flags.writeable = False
    return out


def _macro(
    plan: _Plan, draws: _Draws, drift_scale: np.ndarray, closes: dict[str, np.ndarray]
) -> dict[str, tuple[pd.DatetimeIndex, np.ndarray]]:
    """Every macro series for the chunk: id -> (index, values (P, N))."""
    scenario = plan.scenario
    out: dict[str, tuple[pd.DatetimeIndex, np.ndarray]] = {}
    for m, shocks in zip(plan.macro, draws.macro, strict=True):
        moves = np.diff(m.knot_values) * drift_scale[:, m.knot_phases[1:]]
        knots = m.knot_values[0] + np.concatenate(
            [np.zeros((len(moves), 1)), np.cumsum(moves, axis=1)], axis=1
        )
        noise = m.noise * shocks
        if m.walk:
            noise = _bridge(noise, m.segments)
        level = _blend(knots, m.left, m.weight) + noise
        out[m.series_id] = (
            m.index,
            _finish(np.exp(level) if m.log else level, m.floor, m.decimals),
        )

    days = plan.calendar
    dff = _finish(plan.policy[None] + DFF_NOISE * draws.dff, 0.01, 2)
    out["DFF"] = (days, dff)
    monthly = np.add.reduceat(dff, plan.month_starts, axis=1)
    monthly /= np.diff(np.r_[plan.month_starts, len(days)])
    out["FEDFUNDS"] = (plan.months, _finish(monthly, 0.01, 2))
    out["DTB3"] = (plan.bdays, _finish(plan.bills[None] + DTB3_NOISE * draws.dtb3, 0.01, 2))
    dgs2 = plan.two_year[None] + _bridge(DGS2_NOISE * draws.dgs2, plan.bday_phase)
    out["DGS2"] = (plan.bdays, _finish(dgs2, 0.01, 2))
    if scenario.bond is not None:
        bond = scenario.bond
        index = plan.asset_index[list(scenario.assets).index(bond.symbol)]
        log_return = np.log(closes[bond.symbol] / closes[bond.symbol][:, :1])
        years = (_day_numbers(index) - _day_numbers(index[:1])) / 365.0
        carry = bond.dgs10_start / 100.0 * years
        dgs10 = bond.dgs10_start - 100.0 * (log_return - carry[None]) / bond.duration
        out["DGS10"] = (index, _finish(dgs10, MACRO_SERIES["DGS10"].floor, 2))
    if "M2SL" in out:
        out["WM2NS"] = _weekly_m2(plan, out["M2SL"], draws.wm2ns)
    return out


def _mondays(plan: _Plan) -> pd.DatetimeIndex:
    return _plain(pd.date_range(plan.story.days[0], plan.story.days[-1], freq="W-MON"))


def _weekly_m2(
    plan: _Plan, m2sl: tuple[pd.DatetimeIndex, np.ndarray], shocks: np.ndarray
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """WM2NS: monthly M2 interpolated to Mondays, not seasonally adjusted (an April bump),
    as the embedded market draws it."""
    mondays = _mondays(plan)
    months, values = m2sl
    md, od = _day_numbers(months), _day_numbers(mondays)
    left = np.clip(np.searchsorted(md, od, side="right") - 1, 0, max(len(md) - 2, 0))
    span = np.maximum(md[np.minimum(left + 1, len(md) - 1)] - md[left], 1)
    weight = np.clip((od - md[left]) / span, 0.0, 1.0)
    right = np.minimum(left + 1, len(md) - 1)
    level = values[:, left] * (1.0 - weight) + values[:, right] * weight
    season = 1.0 + 0.004 * np.sin(2.0 * np.pi * (mondays.day_of_year.to_numpy() - 80) / 365.25)
    return mondays, _finish(level * season * np.exp(M2_WEEKLY_NOISE * shocks), 0.0, 1)


def _cash_closes(plan: _Plan, dtb3: tuple[pd.DatetimeIndex, np.ndarray]) -> np.ndarray:
    """The T-bill ETF: each calendar day accrues the last DTB3 published before it / 365."""
    assert plan.scenario.cash is not None
    rates = dtb3[1][:, plan.bill_day]
    growth = np.cumprod(1.0 + rates / 100.0 / 365.0, axis=1)
    weekday = np.asarray(plan.story.days.day_of_week < 5)
    on_bars = growth[:, weekday]
    return plan.scenario.cash.start_price * on_bars / on_bars[:, :1]


def _frames(
    plan: _Plan, closes: dict[str, np.ndarray], draws: _Draws, ohlcv: bool
) -> dict[str, list[pd.DataFrame]]:
    """Per chosen symbol, one price frame per path."""
    scenario = plan.scenario
    frames: dict[str, list[pd.DataFrame]] = {}
    chosen_assets = [s for s in plan.symbols if s in scenario.assets]
    for symbol in plan.symbols:
        if symbol in scenario.assets:
            a = list(scenario.assets).index(symbol)
            index, spec = plan.asset_index[a], scenario.assets[symbol]
        else:  # the cash ETF
            index, spec = plan.bdays, None
        values = closes[symbol]
        if ohlcv and draws.bars is not None and symbol in chosen_assets:
            noise = draws.bars[chosen_assets.index(symbol)]
            assert spec is not None
            frames[symbol] = _ohlcv_frames(index, values, noise, spec.volume, spec.kind == "crypto")
        elif ohlcv:
            frames[symbol] = [_cash_bars(index, row) for row in values]
        else:
            values.flags.writeable = False
            nan = nan_block(len(index))
            frames[symbol] = [_close_frame(index, row, nan) for row in values]
    return frames


def _close_frame(index: pd.DatetimeIndex, close: np.ndarray, nan: np.ndarray) -> pd.DataFrame:
    """The price contract with only closes known (like the real KRE file): open, high, low
    and volume NaN, adj_close equal to close. Built with public pandas only (the private
    block constructor saved microseconds a frame; the panel build costs far more)."""
    values = np.empty((len(index), len(PRICE_COLUMNS)))
    values[:, NAN_COLUMNS] = nan.T
    values[:, CLOSE_COLUMN[0]] = close
    values[:, ADJ_CLOSE_COLUMN[0]] = close
    return pd.DataFrame(values, index=index, columns=PRICE_COLUMNS, copy=False)


def nan_block(length: int) -> np.ndarray:
    """The shared read-only NaN block of close-only frames with `length` bars."""
    nan = np.full((4, length), np.nan)
    nan.flags.writeable = False
    return nan


def _cash_bars(index: pd.DatetimeIndex, close: np.ndarray) -> pd.DataFrame:
    """A T-bill fund's bars: it opens where it closed, with no range."""
    opens = np.r_[close[:1], close[:-1]]
    volume = np.full(len(close), 8.0e6)
    return _price_frame(
        index, opens, np.maximum(opens, close), np.minimum(opens, close), close, volume
    )


def _ohlcv_frames(
    index: pd.DatetimeIndex, closes: np.ndarray, noise: np.ndarray, base_volume: float, crypto: bool
) -> list[pd.DataFrame]:
    """Open/high/low/volume around many close paths at once: opens gap from the previous close
    (not for 24/7 crypto), ranges scale with the recent typical move, volume rises on big
    moves."""
    log_returns = np.diff(np.log(closes), axis=1, prepend=np.log(closes[:, :1]))
    typical = _recent_volatility(log_returns)
    gap = 0.0 if crypto else 0.3 * typical
    previous = np.concatenate([closes[:, :1], closes[:, :-1]], axis=1)
    opens = previous * np.exp(gap * noise[:, :, 0])
    highs = np.maximum(opens, closes) * np.exp(0.5 * typical * np.abs(noise[:, :, 1]))
    lows = np.minimum(opens, closes) * np.exp(-0.5 * typical * np.abs(noise[:, :, 2]))
    surprise = np.abs(log_returns) / typical
    volume = np.round(base_volume * np.exp(0.25 * noise[:, :, 3] + 0.4 * np.minimum(surprise, 5.0)))
    return [
        _price_frame(index, opens[j], highs[j], lows[j], closes[j], volume[j])
        for j in range(len(closes))
    ]


def _recent_volatility(log_returns: np.ndarray) -> np.ndarray:
    """Typical move per bar: the adjusted EWM (span 20) of absolute returns, along each row."""
    moves = np.abs(log_returns)
    if moves.shape[1] > 1:
        moves[:, 0] = moves[:, 1]
    alpha = 2.0 / 21.0
    numerator = _decaying_sum(moves, 1.0 - alpha)
    denominator = _decaying_sum(np.ones((1, moves.shape[1])), 1.0 - alpha)[0]
    return np.maximum(numerator / denominator * np.sqrt(np.pi / 2.0), 1e-6)


def _decaying_sum(x: np.ndarray, decay: float) -> np.ndarray:
    """y[:, n] = x[:, n] + decay * y[:, n - 1] along each row: the recursion of
    `scipy.signal.lfilter([1], [1, -decay], x, axis=1)`, with its arithmetic (the same bits),
    without importing scipy.signal (half a second of every run's start)."""
    from engine.markets.filters import decaying_sum_nb

    out = np.empty(x.shape)
    decaying_sum_nb(np.ascontiguousarray(x, dtype=np.float64), -decay, out)
    return out


def _description(plan: _Plan, seed: int, path: int, courses: np.ndarray) -> str:
    scenario, tale = plan.scenario, plan.story
    phases = "; ".join(
        f"{p.name} {s.date()} to {e.date()}"
        + (f" (branch {p.course_names()[c]})" if p.branches else "")
        for p, s, e, c in zip(scenario.phases, tale.starts, tale.ends, courses, strict=True)
    )
    return (
        f"Scenario {scenario.name}, seed {seed}, path {path}: a fictional market from "
        f"{tale.days[0].date()} to {tale.days[-1].date()} (not history). "
        f"{' '.join(scenario.description.split())} Phases: {phases}. Every path of the seed "
        "shares these dates and events; the noise differs."
    )

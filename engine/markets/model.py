"""The scenario YAML model: a story of phases with fixed dates, and what moves in each.

A scenario (configs/scenarios/<name>.yaml) is a hypothetical future told as phases on a
fictional calendar. Each phase gives every asset an annualized drift (expected log return)
and volatility and its loadings on common factors (whose products are the phase's
correlation matrix), the level each macro series reaches by the phase end, and the story's
dated events and Fed decisions. `engine.markets.generator` turns it into many seeded
paths that share the calendar, the events and the phases, and differ in the noise.

Magnitudes default to numbers measured in a historical window (`window:`, see
`engine/markets/calibrate.py`); macro levels and dates are the story's, in FRED units.

Loading: `load_scenario("ai-credit-crunch")` finds ./configs/scenarios/ai-credit-crunch.yaml,
then the project's configs/scenarios; mistakes are one-line errors with file and line.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, ValidationError, model_validator

import engine
from engine.errors import ConfigError
from engine.io.names import check_name, name_path
from engine.io.yaml_models import Frozen, did_you_mean, read_yaml, validate

SCENARIO_DIR = Path("configs") / "scenarios"
NAME_PATTERN = r"^[a-z0-9][a-z0-9-]*$"  # the Regime name pattern: phases become regimes
FACTORS: tuple[str, ...] = ("tech", "crypto", "gold", "duration", "credit")

# The kinds of engine/reference/fed_events.csv (strategies match on them).
EventKind = Literal[
    "emergency_cut",
    "emergency_cut_qe",
    "emergency_facility",
    "joint_program",
    "first_cut",
    "cut",
    "discount_rate_cut",
    "qt_end",
    "reserve_purchases",
    "first_hike",
    "last_hike",
    "qe_start",
    "taper",
    "qt_start",
    "qt_taper",
    "balance_sheet_pivot",
    "tightening_signal",
    "crisis",
]
RATE_KINDS = frozenset(
    {"emergency_cut", "emergency_cut_qe", "first_cut", "cut", "first_hike", "last_hike"}
)


@dataclass(frozen=True)
class MacroSeries:
    """A FRED series the generator can draw from phase levels: its calendar and units."""

    freq: str  # pandas frequency of its observation dates
    units: str
    decimals: int
    floor: float = 0.0


MACRO_SERIES: dict[str, MacroSeries] = {
    "WALCL": MacroSeries("W-WED", "USD millions (Wednesday level)", 0),
    "WTREGEN": MacroSeries("W-WED", "USD millions (Wednesday level)", 0),
    "RRPONTSYD": MacroSeries("B", "USD billions", 3),
    "M2SL": MacroSeries("MS", "USD billions (monthly, dated the 1st)", 1),
    "BAMLH0A0HYM2": MacroSeries("B", "percent (HY option-adjusted spread)", 2, 0.5),
    "DTWEXBGS": MacroSeries("B", "index, Jan 2006 = 100", 4, 1.0),
    "UNRATE": MacroSeries("MS", "percent", 1, 0.5),
    "CPIAUCSL": MacroSeries("MS", "index 1982-84 = 100", 3, 1.0),
    "DGS10": MacroSeries("B", "percent", 2, 0.05),
}
# Derived, never given as levels: DFF, FEDFUNDS, DTB3 and DGS2 from `fed_funds`; DGS10 from
# `bond` when the scenario has one; WM2NS from M2SL.
DERIVED_MACRO = ("DFF", "FEDFUNDS", "DTB3", "DGS2", "DGS10", "WM2NS")


class AssetSpec(Frozen):
    kind: Literal["crypto", "equity"] = Field(
        description="crypto trades every calendar day; equity Monday to Friday"
    )
    start_price: float = Field(gt=0, description="close on the asset's first bar")
    volume: float = Field(
        1.0e6, gt=0, description="typical daily volume for OHLCV bars (shares; USD for crypto)"
    )
    first_date: dt.date | None = Field(
        None, description="first bar of an asset listed after the start (no bars before it)"
    )


class PhaseAsset(Frozen):
    drift: float = Field(
        ge=-20,
        le=20,
        description="expected annualized log return: the median path grows exp(drift x years)",
    )
    vol: float = Field(gt=0, le=5, description="annualized volatility of daily log returns")
    loadings: dict[str, float] = Field(
        default_factory=dict,
        description="weekday loadings on the factors (squares sum to at most 1; the rest is "
        "idiosyncratic): the phase's correlations are their products",
    )
    window: str = Field(
        "",
        description="historical window the numbers were measured in (calibrate.py); "
        "empty when set by hand (say why in a comment)",
    )


class MacroKnot(Frozen):
    end: float = Field(description="level on the phase's last day, FRED units")
    open: float | None = Field(
        None,
        description="level right after the phase starts (a jump at the boundary, e.g. spreads "
        "gapping tighter on a Fed facility); default: continue from the previous level",
    )


class Branch(Frozen):
    """An alternative course of one phase, taken by a share of the paths: the story holds
    two readings the article leaves open (e.g. BTC's two cases in the crunch)."""

    name: str = Field(pattern=NAME_PATTERN, description="branch id, e.g. stocks-catch-down")
    probability: float = Field(
        gt=0, lt=1, description="share of paths that take it (drawn per path, own stream)"
    )
    description: str = Field("", description="what differs, and why this probability")
    assets: dict[str, PhaseAsset] = Field(
        description="drift, vol and loadings replacing the phase's for these assets"
    )


class Phase(Frozen):
    name: str = Field(pattern=NAME_PATTERN, description="regime id, e.g. ai-credit-crunch")
    end: dt.date = Field(description="last day of the phase; the next phase starts the day after")
    description: str = Field("", description="what happens in this phase, one or two lines")
    window: str = Field("", description="the history this phase is modelled on (documentation)")
    assets: dict[str, PhaseAsset] = Field(
        description="drift, vol and loadings of every asset trading in this phase"
    )
    macro: dict[str, float | MacroKnot] = Field(
        default_factory=dict,
        description="macro levels at the phase end (or {open, end}); a series not listed "
        "holds its level",
    )
    branches: tuple[Branch, ...] = Field(
        (),
        description="alternative courses of the phase; a path takes none of them (the "
        "phase's own numbers) with the probability left over",
    )
    base_branch: str = Field(
        "base", pattern=NAME_PATTERN, description="name of the phase's own course"
    )

    def course(self, branch: int) -> dict[str, PhaseAsset]:
        """The assets' numbers on a course: 0 the phase's own, i the i-th branch's."""
        if branch == 0:
            return dict(self.assets)
        return {**self.assets, **self.branches[branch - 1].assets}

    def course_names(self) -> list[str]:
        return [self.base_branch, *(b.name for b in self.branches)]


class MacroSpec(Frozen):
    start: float = Field(description="level on the first day, FRED units")
    noise: float = Field(
        0.0,
        ge=0,
        le=1,
        description="size of a daily Student-t shock: a fraction of the level when log, "
        "else in the series' units",
    )
    walk: bool = Field(
        True,
        description="noise accumulates between phase ends and is pinned back to the phase "
        "levels at each end (a bridge); false: independent noise per observation",
    )
    log: bool = Field(True, description="interpolate and add noise in logs (positive series)")


class RateDecision(Frozen):
    date: dt.date = Field(description="announcement day; the new rate applies from the next day")
    rate: float = Field(ge=0, le=25, description="effective fed funds rate after it, percent")


class FedFunds(Frozen):
    start: float = Field(ge=0, le=25, description="effective fed funds rate on day one, percent")
    decisions: tuple[RateDecision, ...] = Field(
        (), description="the story's rate decisions (dates shared by every path)"
    )
    bill_spread: float = Field(
        0.08, ge=-1, le=2, description="3-month bills (DTB3) trade this far below the policy rate"
    )
    two_year_spread: float = Field(
        0.10,
        ge=-2,
        le=3,
        description="DGS2 above the average policy rate expected over the next two years",
    )


class BondSpec(Frozen):
    symbol: str = Field("TLT", description="the long-bond ETF whose returns imply DGS10")
    duration: float = Field(
        17.0, gt=0, le=40, description="years: DGS10 change = -(log return - carry) / duration"
    )
    dgs10_start: float = Field(gt=0, le=25, description="DGS10 on the first day, percent")


class CashSpec(Frozen):
    symbol: str = Field("BIL", description="a T-bill ETF that accrues DTB3 every calendar day")
    start_price: float = Field(91.5, gt=0, description="its first close")


class EventSpec(Frozen):
    date: dt.date = Field(description="day of the event (a Sunday facility is dated the Sunday)")
    kind: EventKind = Field(description="kind as in engine/reference/fed_events.csv")
    description: str = Field(description="what happened, one line")


class Jitter(Frozen):
    drift: float = Field(
        0.0,
        ge=0,
        le=1,
        description="per path and phase, scale the phase's drifts and macro moves by "
        "exp(N(0, drift)): a deeper or milder crunch, never a reversed one (0: off)",
    )
    vol: float = Field(
        0.0, ge=0, le=1, description="per path and phase, scale vols by exp(N(0, vol)) (0: off)"
    )
    boundary_weeks: int = Field(
        0,
        ge=0,
        le=26,
        description="per seed, move each inner phase boundary by a whole number of weeks in "
        "[-n, n], with the events and decisions inside; all paths of one draw share it (one "
        "calendar) and weekdays survive (a Sunday facility stays a Sunday) (0: off)",
    )


class Scenario(Frozen):
    name: str = Field(pattern=NAME_PATTERN, description="scenario id, e.g. ai-credit-crunch")
    description: str = Field(description="the story in a few sentences")
    start: dt.date = Field(description="first day (fictional dates: the future, not history)")
    seed: int = Field(description="default seed; the story holds on most of its paths")
    first_stream: int = Field(
        0,
        ge=0,
        description="path i draws from random stream i + first_stream of the seed: chosen so "
        "that path 0, the embedded default market, is a typical path (say its percentile)",
    )
    t_dof: float = Field(
        5.0,
        gt=2,
        le=1000,
        description="degrees of freedom of the daily multivariate Student-t shocks (unit "
        "variance; one chi-square draw per day scales all assets): lower is fatter-tailed",
    )
    crypto_weekend_vol: float = Field(
        0.6, gt=0, le=2, description="crypto weekend volatility relative to weekdays"
    )
    factors: tuple[str, ...] = Field(FACTORS, description="names of the common factors")
    assets: dict[str, AssetSpec] = Field(description="symbol -> how it trades and starts")
    phases: tuple[Phase, ...] = Field(min_length=1, description="the story's chapters, in order")
    macro: dict[str, MacroSpec] = Field(
        default_factory=dict, description="FRED id -> start level and noise (see MACRO_SERIES)"
    )
    fed_funds: FedFunds = Field(description="the policy rate path (DFF, FEDFUNDS, DTB3, DGS2)")
    bond: BondSpec | None = Field(None, description="derive DGS10 from a long-bond ETF's path")
    cash: CashSpec | None = Field(
        default_factory=CashSpec, description="a T-bill ETF priced from DTB3 (null: none)"
    )
    events: tuple[EventSpec, ...] = Field((), description="dated Fed and crisis events")
    jitter: Jitter = Field(default_factory=Jitter, description="optional per-path variation")
    expected: tuple[str, ...] = Field(
        (), description="documented outcomes on the default seed (ranges across paths)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems = scenario_problems(self)
        if problems:
            raise ScenarioProblem(*problems[0])
        return self

    # --- derived views ------------------------------------------------------------------

    @property
    def end(self) -> dt.date:
        return self.phases[-1].end

    def phase_starts(self) -> list[dt.date]:
        return [self.start] + [p.end + dt.timedelta(days=1) for p in self.phases[:-1]]

    def phase(self, name: str) -> Phase:
        for phase in self.phases:
            if phase.name == name:
                return phase
        raise KeyError(name)

    def symbols(self) -> list[str]:
        """Every symbol a path has: the assets, then the cash ETF."""
        return [*self.assets, *([self.cash.symbol] if self.cash else [])]

    def macro_ids(self) -> list[str]:
        """Every macro series a path has."""
        ids = list(self.macro)
        ids += ["DFF", "FEDFUNDS", "DTB3", "DGS2"]
        if self.bond is not None:
            ids.append("DGS10")
        if "M2SL" in self.macro:
            ids.append("WM2NS")
        return ids

    def loading_matrix(self, phase: Phase, branch: int = 0) -> np.ndarray:
        """Weekday loadings of the phase (on a course: 0 its own, i its i-th branch), assets x
        factors (zeros before an asset lists)."""
        course = phase.course(branch)
        rows = []
        for symbol in self.assets:
            spec = course.get(symbol)
            loads = spec.loadings if spec is not None else {}
            rows.append([loads.get(f, 0.0) for f in self.factors])
        return np.array(rows, dtype=float).reshape(len(self.assets), len(self.factors))

    def correlation(self, phase: str | Phase) -> pd.DataFrame:
        """The configured weekday correlation matrix of a phase's daily returns."""
        chosen = self.phase(phase) if isinstance(phase, str) else phase
        matrix = self.loading_matrix(chosen)
        implied = matrix @ matrix.T
        np.fill_diagonal(implied, 1.0)
        names = list(self.assets)
        return pd.DataFrame(implied, index=names, columns=names)

    def expected_returns(self, quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Each phase's simple return per asset at the given quantiles across paths (lognormal
        approximation, no jitter): what "the story holds on most paths" means in numbers."""
        from scipy.stats import norm

        rows = []
        starts = self.phase_starts()
        for phase, start in zip(self.phases, starts, strict=True):
            for symbol, spec in phase.assets.items():
                listed = self.assets[symbol].first_date
                first = max(start, listed) if listed is not None else start
                years = max((phase.end - first).days, 1) / 365.25
                row: dict[str, Any] = {"phase": phase.name, "symbol": symbol}
                for q in quantiles:
                    z = float(norm.ppf(q))
                    log_return = spec.drift * years + z * spec.vol * math.sqrt(years)
                    row[f"q{round(q * 100):02d}"] = math.expm1(log_return)
                row["p_up"] = float(norm.cdf(spec.drift * math.sqrt(years) / spec.vol))
                rows.append(row)
        return pd.DataFrame(rows)


class ScenarioProblem(ValueError):
    """An inconsistency between parts of a scenario, with where it is (a YAML key path)."""

    def __init__(self, loc: tuple[Any, ...], message: str, fix: str = "") -> None:
        super().__init__(message)
        self.loc, self.message, self.fix = loc, message, fix


def scenario_problems(s: Scenario) -> list[tuple[tuple[Any, ...], str, str]]:
    """Every cross-field inconsistency as (location, problem, fix); empty when sound."""
    from engine.markets.calibrate import windows

    problems: list[tuple[tuple[Any, ...], str, str]] = []

    def add(loc: tuple[Any, ...], message: str, fix: str = "") -> None:
        problems.append((loc, message, fix))

    known_windows = windows()
    if len(set(s.factors)) != len(s.factors):
        add(("factors",), "factor names repeat", "name each factor once")
    names = [p.name for p in s.phases]
    for i, phase in enumerate(s.phases):
        previous = s.start if i == 0 else s.phases[i - 1].end + dt.timedelta(days=1)
        if phase.end < previous:
            add(
                ("phases", i, "end"),
                f"phase {phase.name} ends {phase.end}, before it starts ({previous})",
                "phases are in order and each ends on or after its first day",
            )
        if names.count(phase.name) > 1:
            add(("phases", i, "name"), f"phase name {phase.name!r} repeats", "rename one")
        if phase.window and phase.window not in known_windows:
            add(
                ("phases", i, "window"),
                f"unknown window {phase.window!r}",
                _hint(phase.window, known_windows),
            )
    end = s.end
    for symbol, asset in s.assets.items():
        if asset.first_date is not None and not s.start <= asset.first_date <= end:
            add(
                ("assets", symbol, "first_date"),
                f"{symbol} first_date {asset.first_date} is outside {s.start}..{end}",
                "list it inside the scenario's dates (or drop first_date)",
            )
    for i, phase in enumerate(s.phases):
        alive = [
            sym for sym, a in s.assets.items() if a.first_date is None or a.first_date <= phase.end
        ]
        for symbol in phase.assets:
            if symbol not in s.assets:
                add(
                    ("phases", i, "assets", symbol),
                    f"phase {phase.name}: unknown asset {symbol!r}",
                    _hint(symbol, list(s.assets)) or "declare it under assets:",
                )
        for symbol in alive:
            if symbol not in phase.assets:
                add(
                    ("phases", i, "assets"),
                    f"phase {phase.name}: no drift/vol for {symbol}",
                    f"add `{symbol}: {{drift: ..., vol: ...}}`",
                )
        for symbol, spec in phase.assets.items():
            loc = ("phases", i, "assets", symbol)
            unknown = [f for f in spec.loadings if f not in s.factors]
            if unknown:
                add(
                    (*loc, "loadings"),
                    f"phase {phase.name}: {symbol} loads on unknown factor {unknown[0]!r}",
                    _hint(unknown[0], list(s.factors)) or f"factors: {', '.join(s.factors)}",
                )
            total = sum(v * v for v in spec.loadings.values())
            if total > 1.0 + 1e-9:
                add(
                    (*loc, "loadings"),
                    f"phase {phase.name}: {symbol}'s squared loadings sum to {total:.3f} > 1",
                    "scale them down (the rest of the variance is idiosyncratic)",
                )
            if spec.window and spec.window not in known_windows:
                add(
                    (*loc, "window"),
                    f"unknown window {spec.window!r}",
                    _hint(spec.window, known_windows),
                )
        if sum(b.probability for b in phase.branches) >= 1.0:
            add(
                ("phases", i, "branches"),
                f"phase {phase.name}: branch probabilities sum to 1 or more",
                "leave the phase's own course some probability",
            )
        if len(set(phase.course_names())) != len(phase.branches) + 1:
            add(("phases", i, "branches"), f"phase {phase.name}: branch names repeat", "rename")
        for b, branch in enumerate(phase.branches):
            for symbol, spec in branch.assets.items():
                at: tuple[Any, ...] = ("phases", i, "branches", b, "assets", symbol)
                if symbol not in phase.assets:
                    add(at, f"branch {branch.name}: {symbol} is not in phase {phase.name}")
                elif sum(v * v for v in spec.loadings.values()) > 1.0 + 1e-9:
                    add((*at, "loadings"), f"branch {branch.name}: {symbol}'s loadings > 1")
                if any(f not in s.factors for f in spec.loadings):
                    add((*at, "loadings"), f"branch {branch.name}: {symbol}: unknown factor")
        for series_id, knot in phase.macro.items():
            loc = ("phases", i, "macro", series_id)
            if series_id not in s.macro:
                add(
                    loc,
                    f"phase {phase.name}: macro {series_id} has no spec",
                    f"add macro.{series_id}",
                )
                continue
            values = [knot] if isinstance(knot, float | int) else [knot.end, knot.open]
            if s.macro[series_id].log and any(v is not None and v <= 0 for v in values):
                add(
                    loc,
                    f"{series_id} is interpolated in logs: levels must be > 0",
                    "use log: false",
                )
    for series_id, macro_spec in s.macro.items():
        where: tuple[Any, ...] = ("macro", series_id)
        if series_id not in MACRO_SERIES:
            derived = (
                " (derived from fed_funds, bond or M2SL)" if series_id in DERIVED_MACRO else ""
            )
            add(
                where,
                f"macro series {series_id!r} cannot be given as levels{derived}",
                _hint(series_id, list(MACRO_SERIES)) or f"use one of {', '.join(MACRO_SERIES)}",
            )
        elif series_id == "DGS10" and s.bond is not None:
            add(where, "DGS10 is derived from bond:", "drop macro.DGS10 or the bond: block")
        if macro_spec.log and macro_spec.start <= 0:
            add(
                (*where, "start"),
                f"{series_id} is interpolated in logs: start must be > 0",
                "use log: false",
            )
    dated: list[tuple[tuple[Any, ...], dt.date]] = [
        (("events", i, "date"), e.date) for i, e in enumerate(s.events)
    ]
    dated += [
        (("fed_funds", "decisions", i, "date"), d.date) for i, d in enumerate(s.fed_funds.decisions)
    ]
    for at, day in dated:
        if not s.start <= day <= end:
            add(at, f"{day} is outside the scenario ({s.start}..{end})", "move it inside")
    decision_days = [d.date for d in s.fed_funds.decisions]
    if decision_days != sorted(set(decision_days)):
        add(
            ("fed_funds", "decisions"),
            "rate decisions are not in date order (or repeat)",
            "sort them",
        )
    for i, event in enumerate(s.events):
        if event.kind in RATE_KINDS and event.date not in decision_days:
            add(
                ("events", i, "kind"),
                f"{event.kind} on {event.date} has no rate decision that day",
                "add it under fed_funds.decisions (the rate path and the calendar agree)",
            )
    if s.bond is not None:
        bond = s.assets.get(s.bond.symbol)
        if bond is None or bond.kind != "equity":
            add(
                ("bond", "symbol"),
                f"bond {s.bond.symbol!r} is not an equity asset",
                "declare it under assets:",
            )
    if s.cash is not None and s.cash.symbol in s.assets:
        add(("cash", "symbol"), f"{s.cash.symbol} is both an asset and the cash ETF", "keep one")
    return problems


def _hint(name: str, choices: Any) -> str:
    return did_you_mean(name, choices, otherwise="")


# --- loading ---------------------------------------------------------------------------------


def scenario_dirs() -> list[Path]:
    """Where scenario names are looked up: ./configs/scenarios, then the project's."""
    project = Path(engine.__file__).resolve().parents[1] / SCENARIO_DIR
    return list(dict.fromkeys([Path.cwd() / SCENARIO_DIR, project]))


def scenario_names() -> list[str]:
    """Names `load_scenario` finds, sorted (the first folder wins on a clash)."""
    found: set[str] = set()
    for folder in scenario_dirs():
        if folder.is_dir():
            found.update(p.stem for p in folder.glob("*.yaml"))
            found.update(p.stem for p in folder.glob("*.yml"))
    return sorted(found)


def find_scenario(name_or_path: str) -> Path | None:
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml"):
        return candidate if candidate.is_file() else None
    check_name(name_or_path, "scenario name")  # a name, never a way out of its folder
    for folder in scenario_dirs():
        for suffix in (".yaml", ".yml"):
            found = name_path(folder, "", name_or_path, suffix, "scenario name")
            if found.is_file():
                return found
    return None


def load_scenario(name_or_path: str) -> Scenario:
    """A scenario by name (configs/scenarios/<name>.yaml) or path, validated."""
    path = find_scenario(str(name_or_path))
    if path is None:
        names = scenario_names()
        stem = Path(str(name_or_path)).stem
        listing = ", ".join(names) or "none"
        close = did_you_mean(stem, names, cutoff=0.4, otherwise="")
        fix = f"{close} (available: {listing})" if close else f"available: {listing}"
        raise ConfigError(f"unknown scenario {name_or_path!r}", fix)
    data, lines = read_yaml(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key is also a missing one: name the misspelling, where it is, and the fix.
        unknown = next((e for e in errors if e["type"] == "extra_forbidden"), None)
        if unknown is not None:
            loc = tuple(unknown["loc"])
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            hint = did_you_mean(str(loc[-1]), _fields_at(loc[:-1])) or "remove it"
            raise ConfigError(f"{_where(path, lines, loc)}: unknown key{more}", hint) from None
        found = (errors[0].get("ctx") or {}).get("error")
        if isinstance(found, ScenarioProblem):
            raise ConfigError(
                f"{_where(path, lines, found.loc)}: {found.message}", found.fix
            ) from None
        return validate(
            Scenario, data, lines, path, examples="see configs/scenarios/ for working scenarios"
        )  # raises the standard file:line error


def _where(path: Path, lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> str:
    """`file:line: dotted.key` for a location in the YAML."""
    line = _line(lines, loc)
    key = ".".join(str(p) for p in loc) or "(top level)"
    return f"{path}:{line}: {key}" if line else f"{path}: {key}"


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """The keys the model accepts at a location, looking through lists and mappings."""
    current: Any = Scenario
    for part in loc:
        current = _unwrap(current)
        fields = getattr(current, "model_fields", None)
        if fields is None:
            continue  # a list index or a mapping key (a symbol, a series id)
        if part not in fields:
            return []
        current = fields[part].annotation
    current = _unwrap(current)
    return list(getattr(current, "model_fields", {}))


def _unwrap(annotation: Any) -> Any:
    """The model inside tuple[X, ...], dict[str, X] or X | None (else the annotation)."""
    for arg in get_args(annotation)[::-1]:
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        inner = _unwrap(arg)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return annotation


def _line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None

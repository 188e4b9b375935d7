"""Check the numbers the playbooks' theses quote against the data (`playbook claims`).

A claim is data, not code: `engine/reference/claims.yaml` (plus an optional user file) lists
each quoted number with the measurement that should reproduce it, the expected value or
range and a tolerance. Four measurements exist:

- `ratio_level`: a price level or a level ratio (numerator x scale / denominator) on the dates
  both series have, summarised over a window by max, min, mean, median, first or last.
- `correlation`: Pearson correlation of two symbols over a window, by several methods
  (daily returns, price levels, weekly returns); the first listed is the obvious one and
  decides the verdict, the others say which method comes closest to the quoted number.
- `return`: percent change of one symbol between two dates (last bar on or before each).
- `drawdown`: the peak in a search window, the lowest point after it, or the fall between.

Alignment of a 7-day asset (BTC) with a 5-day one (equities) is always on the dates both
have, i.e. the equity sessions: BTC's weekend and holiday moves compound into the next
session's return. Nothing is forward-filled or invented.

Which price: `field: price` is the source's total-return series (adjusted close). Level
claims (ratios quoted off a chart) need the raw `close`; the fields close/adj_close/open/
high/low are read from the CSV directory layout (`prices/<SYMBOL>.csv`), so they need a
`DirectorySource` (another source gives `reproduced=None`, with the reason).

A measurement whose data do not cover its window (a missing file, a series that starts
later or ends earlier) gives `measured=None, reproduced=None` and a note, never an error.
"""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from engine.data.releases import as_released, release_lag
from engine.data.sources import price_path
from engine.errors import ConfigError, DataError
from engine.io.safe_yaml import YamlDocument, parse_yaml, read_yaml_file
from engine.io.yaml_models import Frozen, did_you_mean
from engine.research.claims_events import (
    HorizonStats,
    declustered,
    divergence_days,
    horizon_stats,
    weaker_dollar,
)

if TYPE_CHECKING:
    from engine.data.sources import Source

EMBEDDED_CLAIMS = "claims.yaml"

PriceField = Literal["price", "close", "adj_close", "open", "high", "low"]
Stat = Literal["max", "min", "mean", "median", "first", "last"]
CorrMethod = Literal["daily_returns", "price_levels", "weekly_returns"]

#: a series may start up to this many days after a window opens (or end this many days
#: before it closes) and still count as covering it: weekends, holidays, a late print.
COVER_GRACE = pd.Timedelta(days=7)
#: a monthly macro value released about a month after the last stays current until the next.
MACRO_GRACE = pd.Timedelta(days=40)
#: label of a claim's own measurement when it has one (correlations use the method names).
MAIN = "main measurement"
#: fewest paired observations a correlation is computed from.
MIN_CORR_OBS = 3

_DESCRIPTIONS = {
    "^GSPC": "S&P 500 price index",
    "^NDX": "Nasdaq-100 index",
    "^IXIC": "Nasdaq Composite index",
    "GC=F": "COMEX gold front-month futures",
    "XAUUSD_LBMA_AM": "LBMA gold AM fix",
    "QQQ": "Invesco QQQ ETF",
    "SPY": "SPDR S&P 500 ETF",
    "BTC-USD": "bitcoin, UTC daily",
}

_FIELD_WORDS = {
    "price": "price (the source's adjusted close)",
    "close": "close",
    "adj_close": "dividend-adjusted close",
    "open": "open",
    "high": "intraday high",
    "low": "intraday low",
}


# Keys an alternative may not override: they describe the claim, not the measurement.
_CLAIM_KEYS = frozenset(
    {
        "id",
        "claim",
        "source",
        "seed",
        "as_of",
        "kind",
        "expected",
        "tolerance",
        "unit",
        "note",
        "alternatives",
        "later",
    }
)


# --------------------------------------------------------------------------- schema


class _ClaimBase(Frozen):
    id: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="unique claim id (lower case letters, digits, '-', '_', '.')",
    )
    claim: str = Field(min_length=1, description="the claim as quoted")
    source: str = Field(min_length=1, description="where the claim comes from")
    seed: str = Field(
        "",
        pattern=r"^([0-9]{3}(/[0-9]{3})*)?$",
        description="seed article file number(s) quoted, e.g. 002 or 000/001",
    )
    as_of: dt.date | None = Field(
        None,
        description="publication date: the measurement sees no data dated (or released) after it",
    )
    expected: float | tuple[float, float] = Field(
        description="the quoted number, or a [low, high] range"
    )
    tolerance: float = Field(ge=0, description="how far (in the claim's unit) still counts")
    unit: str | None = Field(None, description="unit of the measured number (default by kind)")
    note: str = Field("", description="tolerance rationale and caveats")
    alternatives: tuple[dict[str, Any], ...] = Field(
        (),
        description="other measurements to compare: each a `label` plus parameter overrides",
    )
    later: dict[str, Any] | None = Field(
        None,
        description="overrides measured on all the data, shown as 'since then' (not the verdict)",
    )

    @field_validator("expected")
    @classmethod
    def _range_order(cls, value: float | tuple[float, float]) -> float | tuple[float, float]:
        if isinstance(value, tuple) and value[0] > value[1]:
            raise ValueError(f"expected range [{value[0]}, {value[1]}] has low > high")
        return value

    @model_validator(mode="after")
    def _within_as_of(self) -> _ClaimBase:
        last = self.last_day()
        if self.as_of is not None and last is not None and last > self.as_of:
            raise ValueError(
                f"the window ends {last}, after as_of {self.as_of} (the publication date): "
                "put later data under `later:`"
            )
        return self

    def last_day(self) -> dt.date | None:
        """The last date the measurement reads (None: to the end of the data)."""
        return getattr(self, "end", None)

    @model_validator(mode="after")
    def _later_valid(self) -> _ClaimBase:
        if self.later is not None:
            fixed = sorted(set(self.later) & _CLAIM_KEYS)
            if fixed:
                raise ValueError(f"later: {', '.join(fixed)} cannot be overridden")
            try:
                self.since_then()
            except ValidationError as exc:
                err = exc.errors()[0]
                key = ".".join(str(p) for p in err["loc"]) or "(top level)"
                raise ValueError(f"later: {key}: {err['msg']}") from None
        return self

    def since_then(self) -> Any:
        """The `later` measurement: this claim's parameters with `later` applied, no as_of."""
        return self.variant({**(self.later or {}), "as_of": None})

    @model_validator(mode="after")
    def _alternatives_valid(self) -> _ClaimBase:
        labels: set[str] = set()
        for i, alt in enumerate(self.alternatives):
            label = alt.get("label")
            if not isinstance(label, str) or not label.strip():
                raise ValueError(f"alternatives[{i}] needs a `label` (a short name)")
            if label in labels:
                raise ValueError(f"alternatives[{i}]: duplicate label {label!r}")
            labels.add(label)
            fixed = sorted(set(alt) & _CLAIM_KEYS)
            if fixed:
                raise ValueError(
                    f"alternatives[{i}] ({label}): {', '.join(fixed)} cannot be overridden; "
                    "an alternative changes only the measurement"
                )
            try:
                self.variant(alt)
            except ValidationError as exc:
                err = exc.errors()[0]
                key = ".".join(str(p) for p in err["loc"]) or "(top level)"
                msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
                hint = ""
                if err["type"] == "extra_forbidden":
                    hint = did_you_mean(str(err["loc"][-1]), _measure_keys(type(self)))
                raise ValueError(
                    f"alternatives[{i}] ({label}): {key}: {msg}" + (f" ({hint})" if hint else "")
                ) from None
        return self

    def variant(self, overrides: dict[str, Any]) -> Any:
        """This claim's measurement with some parameters changed (an alternative)."""
        base = self.model_dump(exclude={"alternatives", "later"})
        base.update({k: v for k, v in overrides.items() if k != "label"})
        return type(self).model_validate(base)

    def expected_text(self) -> str:
        if isinstance(self.expected, tuple):
            low, high = self.expected
            text = f"{_fmt(low)} to {_fmt(high)}"
        else:
            text = _fmt(self.expected)
        return f"{text} ± {_fmt(self.tolerance)}"

    def distance(self, value: float) -> float:
        """0 inside the expected range (or at the value), else how far outside."""
        if isinstance(self.expected, tuple):
            low, high = self.expected
            return max(low - value, 0.0, value - high)
        return abs(value - self.expected)


class RatioLevelClaim(_ClaimBase):
    kind: Literal["ratio_level"]
    numerator: str = Field(description="symbol whose level is measured")
    denominator: str | None = Field(None, description="symbol it is divided by (optional)")
    field: PriceField = Field("price", description="price column of both symbols")
    scale: float = Field(1.0, gt=0, description="multiplies the numerator (e.g. 0.01)")
    start: dt.date = Field(description="first day of the window")
    end: dt.date = Field(description="last day of the window")
    stat: Stat = Field(description="max, min, mean, median, first or last over the window")

    @model_validator(mode="after")
    def _window(self) -> RatioLevelClaim:
        if self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        return self


class CorrelationClaim(_ClaimBase):
    kind: Literal["correlation"]
    a: str = Field(description="first symbol")
    b: str = Field(description="second symbol")
    field: PriceField = Field("price", description="price column of both symbols")
    end: dt.date = Field(description="last day of the window (inclusive)")
    days: int | None = Field(None, gt=1, description="window: calendar days ending at end")
    months: int | None = Field(None, gt=0, description="window: calendar months ending at end")
    sessions: int | None = Field(None, gt=2, description="window: shared trading days")
    start: dt.date | None = Field(None, description="window: explicit first day")
    methods: tuple[CorrMethod, ...] = Field(
        ("daily_returns", "price_levels", "weekly_returns"),
        min_length=1,
        description="correlation methods; the first decides the verdict",
    )

    @model_validator(mode="after")
    def _one_window(self) -> CorrelationClaim:
        given = [k for k in ("days", "months", "sessions", "start") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of days, months, sessions or start for the window"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.start is not None and self.start > self.end:
            raise ValueError(f"start {self.start} is after end {self.end}")
        if len(set(self.methods)) != len(self.methods):
            raise ValueError("methods lists a method twice")
        return self


class ReturnClaim(_ClaimBase):
    kind: Literal["return"]
    symbol: str = Field(description="symbol whose return is measured")
    denominator: str | None = Field(None, description="measure symbol/denominator (optional)")
    invert: bool = Field(False, description="measure 1/price: what one unit of money buys")
    field: PriceField = Field("price", description="price column")
    start: dt.date = Field(description="base date (last bar on or before it)")
    end: dt.date = Field(description="end date (last bar on or before it)")

    @model_validator(mode="after")
    def _window(self) -> ReturnClaim:
        if self.start >= self.end:
            raise ValueError(f"start {self.start} is not before end {self.end}")
        return self


class DrawdownClaim(_ClaimBase):
    kind: Literal["drawdown"]
    symbol: str = Field(description="symbol")
    denominator: str | None = Field(None, description="measure symbol/denominator (optional)")
    peak_start: dt.date = Field(description="first day searched for the peak")
    peak_end: dt.date = Field(description="last day searched for the peak")
    trough_end: dt.date | None = Field(
        None, description="last day searched for the low after the peak (default: data end)"
    )
    peak_field: PriceField = Field("price", description="column the peak is read from")
    trough_field: PriceField = Field("price", description="column the low is read from")
    measure: Literal["peak", "trough", "drawdown"] = Field(
        description="peak level, trough level, or the fall from peak to trough in percent"
    )

    @model_validator(mode="after")
    def _window(self) -> DrawdownClaim:
        if self.peak_start > self.peak_end:
            raise ValueError(f"peak_start {self.peak_start} is after peak_end {self.peak_end}")
        if self.trough_end is not None and self.trough_end < self.peak_end:
            raise ValueError(f"trough_end {self.trough_end} is before peak_end {self.peak_end}")
        return self

    def last_day(self) -> dt.date | None:
        return self.trough_end or self.peak_end


class EventStudyClaim(_ClaimBase):
    """Forward outcomes after dated events against the same outcome after any day."""

    kind: Literal["event_study"]
    symbol: str = Field(description="outcome series: a symbol, or macro:<FRED id>")
    field: PriceField = Field("price", description="price column of the outcome symbol")
    outcome: Literal["return", "change"] = Field(
        "return", description="percent return, or change in the series' units (spreads)"
    )
    events: Literal["fed_calendar", "divergence"] = Field(
        description="fed_calendar (engine/reference/fed_events.csv) or divergence days"
    )
    event_kinds: tuple[str, ...] = Field((), description="fed calendar kinds that count")
    weaker_dollar_days: int | None = Field(
        None, gt=0, description="keep events where the dollar fell over these days before"
    )
    dollar: str = Field("DX-Y.NYB", description="dollar index symbol for weaker_dollar_days")
    divergence_a: str | None = Field(None, description="divergence: the laggard (BTC)")
    divergence_b: str | None = Field(None, description="divergence: the benchmark (Nasdaq)")
    divergence_sessions: int = Field(60, gt=1, description="divergence look-back, sessions")
    divergence_gap: float = Field(25.0, gt=0, description="a trails b by more points than this")
    sample_start: dt.date = Field(description="first day an event (or a baseline day) counts")
    horizons: tuple[int, ...] = Field((30, 90, 180), min_length=1, description="days ahead")
    horizon: int = Field(90, gt=0, description="the horizon whose excess mean is the figure")
    min_gap_days: int = Field(30, ge=0, description="events closer than this are one cluster")
    min_events: int = Field(5, gt=0, description="fewer events: too few to tell")

    @model_validator(mode="after")
    def _consistent(self) -> EventStudyClaim:
        if self.horizon not in self.horizons:
            raise ValueError(f"horizon {self.horizon} is not one of horizons {self.horizons}")
        if self.events == "fed_calendar" and not self.event_kinds:
            raise ValueError("events: fed_calendar needs event_kinds")
        if self.events == "divergence" and not (self.divergence_a and self.divergence_b):
            raise ValueError("events: divergence needs divergence_a and divergence_b")
        return self

    def last_day(self) -> dt.date | None:
        return None


Claim = Annotated[
    RatioLevelClaim | CorrelationClaim | ReturnClaim | DrawdownClaim | EventStudyClaim,
    Field(discriminator="kind"),
]
_CLAIM_ADAPTER: TypeAdapter[Any] = TypeAdapter(Claim)
_EXAMPLE_FIX = "see engine/reference/claims.yaml for examples of each kind"
_KINDS: dict[str, type[_ClaimBase]] = {
    "ratio_level": RatioLevelClaim,
    "correlation": CorrelationClaim,
    "return": ReturnClaim,
    "drawdown": DrawdownClaim,
    "event_study": EventStudyClaim,
}


@dataclass(frozen=True)
class ClaimResult:
    """One checked claim. `reproduced` is None when the data cannot answer."""

    id: str
    claim: str
    measured: float | None
    unit: str
    window: str
    method: str
    reproduced: bool | None
    closest_method: str | None
    note: str
    expected: str = ""
    seed: str = ""
    as_of: str = ""
    since_then: str = ""
    too_few: bool = False  # an event study with fewer events than it needs

    @property
    def verdict(self) -> str:
        if self.too_few:
            return "TOO FEW EVENTS TO TELL"
        return _verdict(self.reproduced)


# --------------------------------------------------------------------------- loading


def load_claims(extra: Path | None = None) -> list[Claim]:
    """The embedded claims (engine/reference/claims.yaml), then those of a user file."""
    ref = resources.files("engine.reference").joinpath(EMBEDDED_CLAIMS)
    claims = _parse_claims(ref.read_text(encoding="utf-8"), f"engine/reference/{EMBEDDED_CLAIMS}")
    origin = {c.id: f"engine/reference/{EMBEDDED_CLAIMS}" for c in claims}
    if extra is not None:
        path = Path(extra)
        if not path.is_file():
            raise ConfigError(f"claims file {path} not found", "check the path")
        document = read_yaml_file(path, "YAML claims file")
        for claim in _claims_from(document, str(path)):
            if claim.id in origin:
                raise ConfigError(
                    f"{path}: claim {claim.id!r}: id already used in {origin[claim.id]}",
                    "give the claim a new id",
                )
            origin[claim.id] = str(path)
            claims.append(claim)
    return claims


def _parse_claims(text: str, where: str) -> list[Claim]:
    return _claims_from(parse_yaml(text, where), where)


def _claims_from(document: YamlDocument, where: str) -> list[Claim]:
    """The claims of a parsed file (read by the bounded reader, engine.io.safe_yaml)."""
    node, data = document.node, document.data
    example = "see engine/reference/claims.yaml for the layout"
    if not isinstance(data, dict) or set(data) != {"claims"}:
        got = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise ConfigError(
            f"{where}: expected one top-level key `claims:` with a list (got {got})", example
        )
    items = data["claims"]
    if not isinstance(items, list):
        raise ConfigError(f"{where}: `claims:` must be a list of claims", example)
    item_nodes = _claim_nodes(node)
    claims: list[Claim] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        item_node = item_nodes[i] if i < len(item_nodes) else None
        line = f":{item_node.start_mark.line + 1}" if item_node is not None else ""
        if not isinstance(item, dict):
            raise ConfigError(f"{where}{line}: claims[{i}] is not a mapping", example)
        cid = item.get("id")
        name = f"claim {cid!r}" if isinstance(cid, str) else f"claims[{i}] (no id)"
        try:
            claim = _CLAIM_ADAPTER.validate_python(item)
        except ValidationError as exc:
            raise _claim_error(exc, item, item_node, where, name) from None
        if claim.id in seen:
            raise ConfigError(f"{where}{line}: {name}: duplicate id", "give each claim its own id")
        seen.add(claim.id)
        claims.append(claim)
    return claims


def _claim_nodes(node: Any) -> list[Any]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == "claims" and isinstance(value, yaml.SequenceNode):
                return list(value.value)
    return []


def _key_line(item_node: Any, key: str) -> int | None:
    if isinstance(item_node, yaml.MappingNode):
        for key_node, _ in item_node.value:
            if key_node.value == key:
                return int(key_node.start_mark.line) + 1
    return int(item_node.start_mark.line) + 1 if item_node is not None else None


def _claim_error(
    exc: ValidationError, item: dict[str, Any], item_node: Any, where: str, name: str
) -> ConfigError:
    errors = exc.errors()
    # a typo'd key is both unknown and (under its right name) missing: name the typo
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = [str(p) for p in err["loc"]]
    kind = item.get("kind")
    if loc and loc[0] == kind:  # pydantic puts the union tag first
        loc = loc[1:]
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        line = _key_line(item_node, "kind")
        return ConfigError(
            f"{where}:{line}: {name}: kind: must be one of {', '.join(_KINDS)} (got {kind!r})",
            "set `kind:` to one of the measurements",
        )
    message = str(err["msg"]).removeprefix("Value error, ")
    key = loc[0] if loc else ("alternatives" if message.startswith("alternatives") else "")
    line = _key_line(item_node, key)
    at = f"{where}:{line}" if line else where
    path = ".".join(loc) or "(claim)"
    model = _KINDS.get(str(kind))
    if err["type"] == "extra_forbidden":
        hint = did_you_mean(loc[-1], list(model.model_fields) if model else [])
        return ConfigError(f"{at}: {name}: {path}: unknown key{more}", hint or "remove it")
    if err["type"] == "missing":
        return ConfigError(f"{at}: {name}: {path}: required key is missing{more}", f"add `{key}:`")
    given = err.get("input")
    shown = f" (got {given!r})" if given is not None and not isinstance(given, dict) else ""
    field = model.model_fields.get(key) if model and key else None
    fix = f"{key} is the {field.description}" if field and field.description else _EXAMPLE_FIX
    return ConfigError(f"{at}: {name}: {path}: {message}{shown}{more}", fix)


def _measure_keys(model: type[BaseModel]) -> list[str]:
    return [k for k in model.model_fields if k not in _CLAIM_KEYS]


# --------------------------------------------------------------------------- data access


class _Unavailable(Exception):
    """The data cannot answer this measurement (missing file, window not covered)."""


class _Data:
    """Series by (symbol, field), loaded once per check; `cap` hides everything after a date.

    A symbol is a price file (`BTC-USD`), a FRED series as released (`macro:M2SL`: indexed
    by release date, engine/data/releases.py, so a capped view never sees an unreleased
    value), or `A|B`: A, continued by B after A's last day (gold: the LBMA fix to 2024,
    then COMEX futures).
    """

    def __init__(
        self,
        source: Source,
        cap: pd.Timestamp | None = None,
        cache: dict[tuple[str, str], pd.Series | _Unavailable] | None = None,
    ) -> None:
        self.source = source
        self.cap = cap
        self._cache: dict[tuple[str, str], pd.Series | _Unavailable] = (
            {} if cache is None else cache
        )

    def capped(self, as_of: dt.date | None) -> _Data:
        """The same data as known at the close of `as_of` (None: everything)."""
        return _Data(self.source, None if as_of is None else pd.Timestamp(as_of), self._cache)

    def series(self, symbol: str, field: str) -> pd.Series:
        key = (symbol, field)
        if key not in self._cache:
            try:
                self._cache[key] = self._load_any(symbol, field)
            except _Unavailable as exc:
                self._cache[key] = exc
        found = self._cache[key]
        if isinstance(found, _Unavailable):
            raise found
        if self.cap is None:
            return found
        known = found.loc[: self.cap]
        if known.empty:
            raise _Unavailable(f"{symbol} has no value on or before {_day(self.cap)}")
        return known

    def _load_any(self, symbol: str, field: str) -> pd.Series:
        if "|" in symbol:
            first, rest = symbol.split("|", 1)
            head = _Data(self.source, None, self._cache).series(first, field)
            tail = _Data(self.source, None, self._cache).series(rest, field)
            return pd.concat([head, tail.loc[tail.index > head.index[-1]]])
        if symbol.startswith("macro:"):
            return self._macro(symbol.removeprefix("macro:"))
        return self._load(symbol, field)

    def _macro(self, series_id: str) -> pd.Series:
        raw = self.source.macro(series_id)
        if raw is None or raw.dropna().empty:
            raise _Unavailable(f"no macro series {series_id} in this data")
        raw = raw.dropna().astype("float64")
        raw.index = pd.DatetimeIndex(raw.index).normalize()
        return as_released(raw.sort_index(), release_lag(series_id))

    def _load(self, symbol: str, field: str) -> pd.Series:
        if field == "price":
            try:
                frame = self.source.prices(symbol)
            except DataError as exc:
                raise _Unavailable(f"no data for {symbol}: {exc.problem}") from exc
            series = frame["price"].astype("float64").dropna()
        else:
            series = self._raw_column(symbol, field)
        if series.empty:
            raise _Unavailable(f"no {field} values for {symbol}")
        series.index = pd.DatetimeIndex(series.index).normalize()
        return series.sort_index()

    def _raw_column(self, symbol: str, field: str) -> pd.Series:
        root = getattr(self.source, "root", None)
        if root is None:
            kind = getattr(self.source, "kind", type(self.source).__name__)
            raise _Unavailable(
                f"the {kind!r} source gives only total-return prices; the {field!r} column of "
                f"{symbol} needs a CSV directory (--data-dir)"
            )
        path = price_path(Path(root), symbol)  # a plain name inside the data folder
        if not path.is_file():
            raise _Unavailable(f"no data for {symbol}: {path} does not exist")
        return read_price_column(path, field)


def read_price_column(path: Path, field: str) -> pd.Series:
    """One column (close, adj_close, high, ...) of a `prices/<SYMBOL>.csv` file, by date.

    Level claims need the raw close: an ETF's adj_close is dividend-adjusted and understates
    its old price levels (QQQ's 2000 close 120 is about 101 adjusted).
    """
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable CSV", "re-export the file") from exc
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "date" not in frame.columns:
        raise DataError(f"{path}: no 'date' column", "use date,open,high,low,close,...")
    if field not in frame.columns or frame[field].isna().all():
        raise _Unavailable(f"{path.name} has no {field!r} values")
    dates = pd.to_datetime(frame["date"].str.strip(), errors="coerce", format="ISO8601")
    if dates.isna().any():
        raise DataError(f"{path}: unreadable date", "use ISO dates like 2020-03-23")
    values = pd.to_numeric(frame[field], errors="coerce")
    series = pd.Series(values.to_numpy(), index=pd.DatetimeIndex(dates, name="date"), name=field)
    series = series.dropna()
    series = series[series > 0]
    if series.index.has_duplicates:
        raise DataError(f"{path}: duplicate dates", "keep one row per date")
    return series.sort_index()


def _span(series: pd.Series) -> str:
    return f"{_day(series.index[0])}..{_day(series.index[-1])}"


def _grace(symbol: str) -> pd.Timedelta:
    """How stale a value may be: a week for prices, a release cycle for monthly macro."""
    return MACRO_GRACE if "macro:" in symbol else COVER_GRACE


def _require_cover(
    series: pd.Series, symbol: str, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> None:
    """The series must reach into [start, end] at both ends (within COVER_GRACE)."""
    first, last = series.index[0], series.index[-1]
    if start is not None and first > start + _grace(symbol):
        raise _Unavailable(
            f"{symbol} starts {_day(first)} in this data, after the window opens {_day(start)}"
        )
    if end is not None and last < end - _grace(symbol):
        raise _Unavailable(
            f"{symbol} ends {_day(last)} in this data, before the window closes {_day(end)}"
        )


def _aligned(a: pd.Series, b: pd.Series) -> pd.DataFrame:
    """Dates both series have (for BTC vs an equity: the equity's sessions)."""
    return a.rename("a").to_frame().join(b.rename("b"), how="inner").dropna()


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class _Measure:
    label: str
    value: float | None
    window: str
    method: str
    detail: str = ""
    events_n: int | None = None  # event studies: events behind the figure


def _symbol_text(symbol: str, field: str, scale: float = 1.0) -> str:
    if symbol.startswith("macro:"):
        return f"{symbol.removeprefix('macro:')} (FRED, by release date)"
    if "|" in symbol:
        first, rest = symbol.split("|", 1)
        return f"{_symbol_text(first, field)}, then {_symbol_text(rest, field)}"
    desc = _DESCRIPTIONS.get(symbol)
    text = f"{symbol} ({desc})" if desc else symbol
    text = f"{text} {_FIELD_WORDS[field]}"
    return f"{text} x {_fmt(scale)}" if scale != 1.0 else text


def _measure_ratio(c: RatioLevelClaim, data: _Data) -> list[_Measure]:
    start, end = pd.Timestamp(c.start), pd.Timestamp(c.end)
    num = data.series(c.numerator, c.field)
    _require_cover(num, c.numerator, start, end)
    if c.denominator is not None:
        den = data.series(c.denominator, c.field)
        _require_cover(den, c.denominator, start, end)
        frame = _aligned(num, den).loc[start:end]
        level = frame["a"] * c.scale / frame["b"]
        what = (
            f"level ratio {_symbol_text(c.numerator, c.field, c.scale)} / "
            f"{_symbol_text(c.denominator, c.field)} on dates both have"
        )
    else:
        level = (num * c.scale).loc[start:end]
        what = f"level of {_symbol_text(c.numerator, c.field, c.scale)}"
    if level.empty:
        raise _Unavailable(f"no shared dates in {_day(start)}..{_day(end)}")
    value, at = _stat(level, c.stat)
    window = f"{_day(start)}..{_day(end)} (data {_span(level)}, {len(level)} days)"
    when = f" on {_day(at)}" if at is not None else ""
    low, high = _fmt(float(level.min())), _fmt(float(level.max()))
    detail = f"{c.stat} {_fmt(value)}{when}; range {low}..{high}"
    return [_Measure(MAIN, value, window, f"{what}; {c.stat} over the window", detail)]


def _stat(level: pd.Series, stat: str) -> tuple[float, pd.Timestamp | None]:
    if stat == "max":
        return float(level.max()), level.idxmax()
    if stat == "min":
        return float(level.min()), level.idxmin()
    if stat == "first":
        return float(level.iloc[0]), level.index[0]
    if stat == "last":
        return float(level.iloc[-1]), level.index[-1]
    if stat == "median":
        return float(level.median()), None
    return float(level.mean()), None


def _corr_start(c: CorrelationClaim, frame: pd.DataFrame, end: pd.Timestamp) -> pd.Timestamp:
    if c.start is not None:
        return pd.Timestamp(c.start)
    if c.days is not None:
        return end - pd.Timedelta(days=c.days - 1)
    if c.months is not None:
        return end - pd.DateOffset(months=c.months) + pd.Timedelta(days=1)
    assert c.sessions is not None
    upto = frame.loc[:end]
    if len(upto) < c.sessions:
        raise _Unavailable(f"only {len(upto)} shared days up to {_day(end)}, not {c.sessions}")
    return pd.Timestamp(upto.index[-c.sessions])


def _window_words(c: CorrelationClaim) -> str:
    if c.days is not None:
        return f"{c.days} calendar days"
    if c.months is not None:
        return f"{c.months} calendar month{'s' if c.months > 1 else ''}"
    if c.sessions is not None:
        return f"{c.sessions} shared sessions"
    return "explicit window"


def _measure_correlation(c: CorrelationClaim, data: _Data) -> list[_Measure]:
    end = pd.Timestamp(c.end)
    a, b = data.series(c.a, c.field), data.series(c.b, c.field)
    full = _aligned(a, b)
    if full.empty:
        raise _Unavailable(f"{c.a} and {c.b} share no dates")
    start = _corr_start(c, full, end)
    _require_cover(a, c.a, start, end)
    _require_cover(b, c.b, start, end)
    upto = full.loc[:end]
    levels = upto.loc[start:]
    if levels.empty:
        raise _Unavailable(f"no shared dates in {_day(start)}..{_day(end)}")
    window = (
        f"{_day(start)}..{_day(end)} ({_window_words(c)}; data {_span(levels)}, "
        f"{len(levels)} shared days)"
    )
    pair = f"{_symbol_text(c.a, c.field)} vs {_symbol_text(c.b, c.field)}"
    out = []
    for method in c.methods:
        if method == "daily_returns":
            obs = (upto / upto.shift(1) - 1).loc[start:].dropna()
            how = (
                f"Pearson correlation of daily returns on shared trading days ({len(obs)} obs; "
                "a 7-day asset's weekend/holiday moves compound into the next session)"
            )
        elif method == "price_levels":
            obs = levels
            how = f"Pearson correlation of price levels on shared days ({len(obs)} obs)"
        else:
            weekly = upto.resample("W-FRI").last().dropna()
            obs = (weekly / weekly.shift(1) - 1).loc[start:].dropna()
            how = (
                "Pearson correlation of weekly returns (last shared close of each "
                f"Monday-Friday week; {len(obs)} obs)"
            )
        value = _corr(obs)
        detail = "" if value is not None else f"{len(obs)} observations: too few or constant"
        out.append(_Measure(method, value, window, f"{how}: {pair}", detail))
    return out


def _corr(obs: pd.DataFrame) -> float | None:
    if len(obs) < MIN_CORR_OBS:
        return None
    value = float(obs["a"].corr(obs["b"]))
    return None if math.isnan(value) else value


def _asof(series: pd.Series, symbol: str, day: pd.Timestamp) -> tuple[float, pd.Timestamp]:
    upto = series.loc[:day]
    if upto.empty or upto.index[-1] < day - _grace(symbol):
        raise _Unavailable(
            f"{symbol} has no value within {_grace(symbol).days} days before {_day(day)}"
        )
    return float(upto.iloc[-1]), pd.Timestamp(upto.index[-1])


def _level_asof(c: ReturnClaim, data: _Data, day: pd.Timestamp) -> tuple[float, str]:
    """The claim's level on `day` (each leg's last value on or before it) and its bars."""
    value, d_num = _asof(data.series(c.symbol, c.field), c.symbol, day)
    bars = _day(d_num)
    if c.denominator is not None:
        den, d_den = _asof(data.series(c.denominator, c.field), c.denominator, day)
        value /= den
        bars = f"{bars}/{_day(d_den)}" if d_den != d_num else bars
    return (1.0 / value if c.invert else value), bars


def _measure_return(c: ReturnClaim, data: _Data) -> list[_Measure]:
    start, end = pd.Timestamp(c.start), pd.Timestamp(c.end)
    p0, b0 = _level_asof(c, data, start)
    p1, b1 = _level_asof(c, data, end)
    value = (p1 / p0 - 1.0) * 100.0
    window = f"{_day(start)}..{_day(end)} (values of {b0} -> {b1})"
    what = _symbol_text(c.symbol, c.field)
    if c.denominator is not None:
        what = f"the ratio {what} / {_symbol_text(c.denominator, c.field)}"
    if c.invert:
        what = f"1 / {what} (what one unit of money buys)"
    method = f"percent change of {what}, last value on or before each date"
    detail = f"{_fmt(p0)} -> {_fmt(p1)}"
    return [_Measure(MAIN, value, window, method, detail)]


def _ratio_series(data: _Data, num: str, den: str | None, field: str) -> pd.Series:
    """num / den on the dates both have (num alone without a denominator)."""
    series = data.series(num, field)
    if den is None:
        return series
    frame = _aligned(series, data.series(den, field))
    if frame.empty:
        raise _Unavailable(f"{num} and {den} share no dates")
    return frame["a"] / frame["b"]


def _measure_drawdown(c: DrawdownClaim, data: _Data) -> list[_Measure]:
    peak_series = _ratio_series(data, c.symbol, c.denominator, c.peak_field)
    trough_series = _ratio_series(data, c.symbol, c.denominator, c.trough_field)
    p_start, p_end = pd.Timestamp(c.peak_start), pd.Timestamp(c.peak_end)
    _require_cover(peak_series, c.symbol, p_start, p_end)
    search = peak_series.loc[p_start:p_end]
    if search.empty:
        raise _Unavailable(f"no {c.symbol} bars in {_day(p_start)}..{_day(p_end)}")
    peak, peak_day = float(search.max()), pd.Timestamp(search.idxmax())
    t_end = pd.Timestamp(c.trough_end) if c.trough_end is not None else trough_series.index[-1]
    if c.trough_end is not None:
        _require_cover(trough_series, c.symbol, None, t_end)
    after = trough_series.loc[peak_day:t_end]
    if after.empty:
        raise _Unavailable(f"no {c.symbol} bars after the peak {_day(peak_day)}")
    trough, trough_day = float(after.min()), pd.Timestamp(after.idxmin())
    fall = (trough / peak - 1.0) * 100.0
    value = {"peak": peak, "trough": trough, "drawdown": fall}[c.measure]
    until = _day(t_end) + ("" if c.trough_end is not None else " (end of the data used)")
    window = f"peak searched {_day(p_start)}..{_day(p_end)}; low searched to {until}"
    what = c.symbol if c.denominator is None else f"{c.symbol}/{c.denominator} (shared dates)"
    method = (
        f"{c.measure} of {what}: peak = max {_FIELD_WORDS[c.peak_field]}, "
        f"low = min {_FIELD_WORDS[c.trough_field]} after the peak"
    )
    detail = (
        f"peak {_fmt(peak)} on {_day(peak_day)}, low {_fmt(trough)} on {_day(trough_day)}, "
        f"fall {_fmt(fall)}%"
    )
    return [_Measure(MAIN, value, window, method, detail)]


def _event_dates(c: EventStudyClaim, data: _Data, cutoff: pd.Timestamp) -> tuple[list, str]:
    """The claim's event dates in [sample_start, cutoff] (before declustering) and their rule."""
    start = pd.Timestamp(c.sample_start)
    if c.events == "fed_calendar":
        table = data.source.events()
        table = table[table["kind"].isin(c.event_kinds)]
        dates = [pd.Timestamp(d) for d in table["date"] if start <= pd.Timestamp(d) <= cutoff]
        rule = f"Fed calendar kinds {', '.join(c.event_kinds)}"
    else:
        assert c.divergence_a is not None and c.divergence_b is not None
        a = data.series(c.divergence_a, "price")
        b = data.series(c.divergence_b, "price")
        dates = [d for d in divergence_days(a, b, c.divergence_sessions, c.divergence_gap)]
        dates = [d for d in dates if start <= d <= cutoff]
        rule = (
            f"days {c.divergence_a}'s {c.divergence_sessions}-session return trails "
            f"{c.divergence_b}'s by more than {_fmt(c.divergence_gap)} points"
        )
    if c.weaker_dollar_days is not None:
        dollar = data.series(c.dollar, "price")
        dates = [d for d in dates if weaker_dollar(dollar, d, c.weaker_dollar_days)]
        rule += f", with {c.dollar} lower than {c.weaker_dollar_days} days before"
    return dates, rule


def _horizon_text(h: HorizonStats, unit: str) -> str:
    def num(v: float | None) -> str:
        return "n/a" if v is None else f"{v:+.1f}{unit}"

    hits = "" if h.hit_rate is None else f", {h.hit_rate:.0%} up"
    return (
        f"{h.days}d: events n={h.n} mean {num(h.mean)} median {num(h.median)}{hits}; "
        f"any day n={h.base_n} mean {num(h.base_mean)} median {num(h.base_median)}"
    )


def _measure_event_study(c: EventStudyClaim, data: _Data) -> list[_Measure]:
    series = data.series(c.symbol, c.field)
    cutoff = data.cap if data.cap is not None else series.index[-1]
    start = max(pd.Timestamp(c.sample_start), series.index[0])
    raw, rule = _event_dates(c, data, cutoff)
    events = declustered(raw, c.min_gap_days)
    unit = "%" if c.outcome == "return" else " pts"
    stats = [horizon_stats(series, events, h, c.outcome, start, cutoff) for h in c.horizons]
    main = next(h for h in stats if h.days == c.horizon)
    shown = ", ".join(_day(e) for e in events) or "none"
    window = (
        f"events {_day(start)}..{_day(cutoff)}: {len(events)} after merging those within "
        f"{c.min_gap_days} days ({len(raw)} raw): {shown}"
    )
    how = "percent return" if c.outcome == "return" else "change"
    method = (
        f"event study: forward {how} of {_symbol_text(c.symbol, c.field)} from the event day's "
        f"close over {', '.join(str(h) for h in c.horizons)} calendar days after {rule}; "
        f"figure = event mean minus the mean from any day of the sample at {c.horizon}d, "
        "only windows that end by the as-of date"
    )
    detail = " | ".join(_horizon_text(h, unit) for h in stats)
    return [_Measure(MAIN, main.excess, window, method, detail, events_n=main.n)]


_MEASURES: dict[str, Any] = {
    "ratio_level": _measure_ratio,
    "correlation": _measure_correlation,
    "return": _measure_return,
    "drawdown": _measure_drawdown,
    "event_study": _measure_event_study,
}


def _default_unit(c: Any) -> str:
    if c.unit:
        return str(c.unit)
    if isinstance(c, RatioLevelClaim):
        return "ratio" if c.denominator else "price"
    if isinstance(c, CorrelationClaim):
        return "correlation"
    if isinstance(c, DrawdownClaim) and c.measure != "drawdown":
        return "price"
    if isinstance(c, EventStudyClaim):
        return "% excess" if c.outcome == "return" else "pts excess"
    return "%"


def _measure_all(c: Any, data: _Data) -> tuple[list[_Measure], str | None]:
    """Measurements of the claim itself, or the reason the data cannot answer."""
    try:
        return _MEASURES[c.kind](c, data), None
    except _Unavailable as exc:
        return [], str(exc)
    except DataError as exc:
        return [], exc.one_line()


def check_claims(source: Source, claims: list[Claim]) -> list[ClaimResult]:
    """Measure every claim on `source`; a window the data do not cover gives None, not an error."""
    data = _Data(source)
    return [_check_one(c, data) for c in claims]


def _check_one(c: Any, all_data: _Data) -> ClaimResult:
    unit = _default_unit(c)
    data = all_data.capped(c.as_of)  # the article's date: nothing published after it
    primary, problem = _measure_all(c, data)
    candidates: list[_Measure] = list(primary)
    skipped: dict[str, list[str]] = {}  # reason -> labels of alternatives it stopped
    for alt in c.alternatives:
        measures, alt_problem = _measure_all(c.variant(alt), data)
        if alt_problem:
            skipped.setdefault(alt_problem, []).append(str(alt["label"]))
        for m in measures:
            label = alt["label"] if len(measures) == 1 else f"{alt['label']}, {m.label}"
            candidates.append(_Measure(label, m.value, m.window, m.method, m.detail))
    notes: list[str] = []
    too_few = False
    if problem is not None:
        measured, reproduced = None, None
        window, method = _requested_window(c), f"{c.kind} (not computed)"
        notes.append(f"not checkable on this data: {problem}")
    else:
        head = primary[0]
        measured = head.value
        window, method = head.window, head.method
        if measured is None:
            reproduced = None
            notes.append(f"not checkable on this data: {head.detail}")
        elif head.events_n is not None and head.events_n < c.min_events:
            reproduced = None
            too_few = True
            notes.append(
                f"too few events to tell: n={head.events_n} at {c.horizon}d, fewer than "
                f"{c.min_events}; {head.detail}"
            )
        else:
            reproduced = c.distance(measured) <= c.tolerance + 1e-12
            if head.detail:
                notes.append(head.detail)
    valued = [(m.label, m.value) for m in candidates if m.value is not None]
    closest = None
    if valued and (len(candidates) > 1 or not primary):  # something to compare with
        best_label, best_value = min(valued, key=lambda lv: c.distance(lv[1]))
        closest = f"{best_label}: {_fmt(best_value)}"
        others = "; ".join(
            f"{m.label} {_fmt(m.value) if m.value is not None else 'n/a'}"
            for m in candidates
            if not primary or m is not primary[0]
        )
        notes.append(f"compared: {others}")
    for reason, labels in skipped.items():
        why = "same reason" if reason == problem else reason
        notes.append(f"also not computed: {', '.join(labels)} ({why})")
    if c.note:
        notes.append(" ".join(c.note.split()))
    return ClaimResult(
        id=c.id,
        claim=c.claim,
        measured=measured,
        unit=unit,
        window=window,
        method=method,
        reproduced=reproduced,
        closest_method=closest,
        note=". ".join(n.rstrip(".") for n in notes) + ("." if notes else ""),
        expected=c.expected_text(),
        seed=c.seed,
        as_of="" if c.as_of is None else _day(c.as_of),
        since_then=_since_then(c, all_data, unit),
        too_few=too_few,
    )


def _since_then(c: Any, data: _Data, unit: str) -> str:
    """The `later` measurement on all the data: context after the article, not its verdict."""
    if c.later is None:
        return ""
    measures, problem = _measure_all(c.since_then(), data)
    value = measures[0].value if measures else None
    if problem is not None or value is None:
        return f"n/a ({problem or 'no value'})"
    m = measures[0]
    return f"{_fmt(value)} {unit}: {m.window}" + (f"; {m.detail}" if m.detail else "")


def _requested_window(c: Any) -> str:
    if isinstance(c, RatioLevelClaim | ReturnClaim):
        return f"{c.start}..{c.end}"
    if isinstance(c, CorrelationClaim):
        return f"{_window_words(c)} ending {c.end}" + (f" from {c.start}" if c.start else "")
    if isinstance(c, EventStudyClaim):
        return f"events from {c.sample_start} to {c.as_of or 'the end of the data'}"
    return f"peak searched {c.peak_start}..{c.peak_end}"


# --------------------------------------------------------------------------- output


def format_claims(results: list[ClaimResult]) -> str:
    """A table (seed, as of, figure, verdict), then one block per claim with the details."""
    width = 100
    label_w = 10
    blocks = [_table(results)]
    for r in results:
        measured = "n/a" if r.measured is None else f"{_fmt(r.measured)} {r.unit}"
        if r.expected:
            measured += f"   (expected {r.expected})"
        rows = [
            ("seed", f"{r.seed or '-'}, measured as of {r.as_of or 'the end of the data'}"),
            ("measured", measured),
            ("window", r.window),
            ("method", r.method),
            ("verdict", r.verdict),
        ]
        if r.since_then:
            rows.append(("since", f"then (not the verdict): {r.since_then}"))
        if r.closest_method:
            rows.append(("closest", r.closest_method))
        if r.note:
            rows.append(("note", r.note))
        lines = [f"[{r.id}] {r.claim}"]
        for name, text in rows:
            lines.extend(
                textwrap.wrap(
                    text,
                    width=width,
                    initial_indent=f"  {name:<{label_w - 2}}: ",
                    subsequent_indent=" " * (label_w + 2),
                    break_on_hyphens=False,
                )
                or [f"  {name:<{label_w - 2}}:"]
            )
        blocks.append("\n".join(lines))
    yes = sum(r.reproduced is True for r in results)
    no = sum(r.reproduced is False for r in results)
    few = sum(r.too_few for r in results)
    na = sum(r.reproduced is None and not r.too_few for r in results)
    summary = (
        f"{len(results)} claims: {yes} reproduced, {no} not reproduced, "
        f"{few} too few events to tell, {na} not checkable"
    )
    return "\n\n".join([*blocks, summary]) + "\n"


def _table(results: list[ClaimResult]) -> str:
    """One line per claim: id, seed, as-of date, figure, expected, verdict."""
    rows = [("claim", "seed", "as of", "figure", "expected", "verdict")]
    for r in results:
        figure = "n/a" if r.measured is None else f"{_fmt(r.measured)} {r.unit}"
        verdict = r.verdict.split(" (")[0]
        rows.append((r.id, r.seed or "-", r.as_of or "-", figure, r.expected, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _verdict(reproduced: bool | None) -> str:
    if reproduced is None:
        return "NOT CHECKABLE (the data do not cover it)"
    return "REPRODUCED" if reproduced else "NOT REPRODUCED"


def _fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def _day(ts: pd.Timestamp | dt.date) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")
